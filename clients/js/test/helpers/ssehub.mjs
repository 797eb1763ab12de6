// Starts the real ssehub daemon on a free loopback port for integration and
// browser tests. The binary comes from $SSEHUB_BIN, default ../../build/ssehub
// relative to clients/js. A missing binary is a test failure, not a skip.
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { waitFor } from './wait.mjs';

const packageDir = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');

export const ssehubBinary = process.env.SSEHUB_BIN
  ? path.resolve(packageDir, process.env.SSEHUB_BIN)
  : path.resolve(packageDir, '../../build/ssehub');

export function requireBinary() {
  if (!existsSync(ssehubBinary)) {
    throw new Error(
      `ssehub binary not found at ${ssehubBinary}. Build it first ` +
        '(cmake -B build && cmake --build build at the repository root) or set SSEHUB_BIN.',
    );
  }
  return ssehubBinary;
}

/** A free TCP port on 127.0.0.1. */
export async function freePort() {
  const server = net.createServer();
  await new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', resolve);
  });
  const { port } = server.address();
  await new Promise((resolve) => server.close(resolve));
  return port;
}

/**
 * One daemon process (restartable on the same port).
 * `env` holds SSEHUB_* overrides; the listen address is set here.
 */
export class Ssehub {
  constructor({ port, env = {} }) {
    this.port = port;
    this.env = env;
    this.origin = `http://127.0.0.1:${port}`;
    this.process = undefined;
    this.output = '';
  }

  static async start(options = {}) {
    const hub = new Ssehub({ port: options.port ?? (await freePort()), env: options.env });
    await hub.start();
    return hub;
  }

  async start() {
    const binary = requireBinary();
    const child = spawn(binary, [], {
      env: { ...process.env, ...this.env, SSEHUB_SERVER_LISTEN: `127.0.0.1:${this.port}` },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    this.process = child;
    const exited = { value: false };
    child.stdout.on('data', (chunk) => this.#capture(chunk));
    child.stderr.on('data', (chunk) => this.#capture(chunk));
    child.on('exit', () => {
      exited.value = true;
    });
    await waitFor(
      async () => {
        if (exited.value) throw new Error(`ssehub exited during start-up:\n${this.output}`);
        try {
          const response = await fetch(`${this.origin}/health/live`);
          await response.body?.cancel();
          return response.status === 200;
        } catch {
          return false;
        }
      },
      { timeoutMs: 15000, intervalMs: 50, message: `ssehub on port ${this.port} to answer /health/live` },
    );
  }

  #capture(chunk) {
    this.output += chunk.toString();
    if (this.output.length > 200000) this.output = this.output.slice(-100000);
  }

  get running() {
    return this.process !== undefined && this.process.exitCode === null && this.process.signalCode === null;
  }

  /** Send `signal` to the daemon (by pid) and wait for it to exit. */
  async stop(signal = 'SIGTERM', timeoutMs = 15000) {
    const child = this.process;
    if (!child || child.exitCode !== null || child.signalCode !== null) return;
    const exited = new Promise((resolve) => child.once('exit', resolve));
    process.kill(child.pid, signal);
    const timer = setTimeout(() => {
      if (child.exitCode === null && child.signalCode === null) process.kill(child.pid, 'SIGKILL');
    }, timeoutMs);
    await exited;
    clearTimeout(timer);
  }

  /** POST /publish; returns the ids. */
  async publish(topic, type, data) {
    return this.publishMany([{ topic, type, data }]);
  }

  async publishMany(events) {
    const response = await fetch(`${this.origin}/publish`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify(events),
    });
    const body = await response.json();
    if (response.status !== 201) throw new Error(`publish failed: ${response.status} ${JSON.stringify(body)}`);
    return body.ids;
  }
}

/**
 * A TCP proxy on a free loopback port in front of `targetPort`, so a test can
 * cut client connections (`cut()`) or refuse new ones (`down = true`)
 * without touching the daemon. It records the head of each request.
 */
export async function startProxy(targetPort) {
  const live = new Set();
  const heads = [];
  const proxy = {
    down: false,
    heads,
    port: 0,
    cut() {
      for (const socket of live) socket.destroy();
      live.clear();
    },
  };
  const server = net.createServer((client) => {
    if (proxy.down) return client.destroy();
    const upstream = net.connect(targetPort, '127.0.0.1');
    live.add(client);
    live.add(upstream);
    let head = '';
    client.on('data', (chunk) => {
      if (head !== null) {
        head += chunk.toString('latin1');
        const end = head.indexOf('\r\n\r\n');
        if (end !== -1) {
          heads.push(head.slice(0, end));
          head = null;
        }
      }
    });
    client.pipe(upstream);
    upstream.pipe(client);
    const close = () => {
      client.destroy();
      upstream.destroy();
      live.delete(client);
      live.delete(upstream);
    };
    client.on('error', close);
    upstream.on('error', close);
    client.on('close', close);
    upstream.on('close', close);
  });
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  proxy.port = server.address().port;
  proxy.close = async () => {
    proxy.cut();
    await new Promise((resolve) => server.close(resolve));
  };
  return proxy;
}

/** Value of a header in a recorded request head (case-insensitive). */
export function headerOf(head, name) {
  const match = head.split('\r\n').find((line) => line.toLowerCase().startsWith(`${name.toLowerCase()}:`));
  return match === undefined ? undefined : match.slice(match.indexOf(':') + 1).trim();
}
