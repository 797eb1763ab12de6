// Headless Chromium and the demo page's static server for browser tests.
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';
import { mkdir } from 'node:fs/promises';
import { Ssehub, freePort, requireBinary } from './ssehub.mjs';
import { waitFor } from './wait.mjs';

export const packageDir = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
export const artifacts = path.join(packageDir, 'test-artifacts');
const chromiumPath = process.env.CHROMIUM_PATH || '/usr/bin/chromium';
const chromiumArgs = [
  '--no-sandbox',
  '--disable-gpu',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--no-first-run',
  '--disable-quic',
];

export async function startDemoServer(t, port) {
  const child = spawn(process.execPath, [path.join(packageDir, 'demo/serve.mjs'), '--port', String(port)], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout.on('data', (chunk) => (output += chunk));
  child.stderr.on('data', (chunk) => (output += chunk));
  t.after(() => {
    if (child.exitCode === null && child.signalCode === null) process.kill(child.pid, 'SIGKILL');
  });
  await waitFor(
    async () => {
      if (child.exitCode !== null) throw new Error(`serve.mjs exited:\n${output}`);
      try {
        const response = await fetch(`http://127.0.0.1:${port}/demo/index.html`);
        await response.body?.cancel();
        return response.ok;
      } catch {
        return false;
      }
    },
    { timeoutMs: 10000, intervalMs: 50, message: 'demo server' },
  );
  return `http://127.0.0.1:${port}`;
}

export async function launchBrowser(t) {
  if (!existsSync(chromiumPath)) {
    throw new Error(
      `Chromium not found at ${chromiumPath}: apt-get install chromium (or set CHROMIUM_PATH).`,
    );
  }
  const userDataDir = await mkdtemp(path.join(os.tmpdir(), 'ssehub-chromium-'));
  const context = await chromium.launchPersistentContext(userDataDir, {
    executablePath: chromiumPath,
    headless: true,
    args: chromiumArgs,
    viewport: { width: 1000, height: 700 },
  });
  t.after(async () => {
    await context.close();
    await rm(userDataDir, { recursive: true, force: true });
  });
  return context;
}

/**
 * A daemon that lets the demo's origin in (`corsOrigins(demoOrigin)` lists the
 * allowed origins), the demo server and a browser, all stopped after `t`.
 */
export async function startDemo(t, { env = {}, corsOrigins = (origin) => origin } = {}) {
  requireBinary();
  await mkdir(artifacts, { recursive: true });
  const demoPort = await freePort();
  const demoOrigin = `http://127.0.0.1:${demoPort}`;
  const hub = await Ssehub.start({ env: { SSEHUB_SERVER_CORS_ORIGINS: corsOrigins(demoOrigin), ...env } });
  t.after(() => hub.stop('SIGKILL'));
  await startDemoServer(t, demoPort);
  const context = await launchBrowser(t);
  return { hub, demoOrigin, context };
}

/** Publishes one event on `topic` every 10 ms (at most 400) into `ids` until stop() is awaited. */
export function keepPublishing(hub, topic, ids) {
  let running = true;
  const done = (async () => {
    for (let n = 0; running && n < 400; n++) {
      ids.push(...(await hub.publish(topic, 'tick', { n })));
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
  })();
  return {
    async stop() {
      running = false;
      await done;
    },
  };
}
