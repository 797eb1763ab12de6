// Browser test: the demo page, served by demo/serve.mjs on its own origin,
// in headless Chromium against a real ssehub with server.cors_origins set.
// Screenshots go to test-artifacts/.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';
import { Ssehub, freePort, requireBinary } from '../helpers/ssehub.mjs';
import { waitFor } from '../helpers/wait.mjs';

const packageDir = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const artifacts = path.join(packageDir, 'test-artifacts');
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

async function startDemoServer(t, port) {
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

async function launchBrowser(t) {
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

function statusSelector(status) {
  return `#status[data-status="${status}"]`;
}

test('demo page shows live events and the connection status across an ssehub crash and restart', async (t) => {
  requireBinary();
  await mkdir(artifacts, { recursive: true });
  const demoPort = await freePort();
  const demoOrigin = `http://127.0.0.1:${demoPort}`;
  const hub = await Ssehub.start({
    env: { SSEHUB_SERVER_CORS_ORIGINS: demoOrigin, SSEHUB_STREAM_HEARTBEAT_MS: '500' },
  });
  t.after(() => hub.stop('SIGKILL'));
  await startDemoServer(t, demoPort);
  const context = await launchBrowser(t);
  const page = context.pages()[0] ?? (await context.newPage());
  const consoleLines = [];
  page.on('console', (message) => consoleLines.push(`${message.type()}: ${message.text()}`));
  page.on('pageerror', (error) => consoleLines.push(`pageerror: ${error.message}`));
  t.after(() => {
    if (consoleLines.length) t.diagnostic(`browser console:\n${consoleLines.join('\n')}`);
  });

  await page.goto(`${demoOrigin}/?ssehub=${encodeURIComponent(hub.origin)}&topic=demo&maxReconnectAttempts=40&baseDelayMs=100`);
  await page.waitForSelector(statusSelector('open'), { timeout: 15000 });
  assert.equal(await page.textContent('#ssehub-url'), hub.origin);

  // Live events published by the daemon appear on the page.
  const ids = await hub.publishMany([
    { topic: 'demo', type: 'greeting', data: { text: 'first' } },
    { topic: 'demo', type: 'greeting', data: { text: 'second' } },
  ]);
  await page.waitForFunction(() => document.querySelectorAll('#events li.event').length === 2, null, {
    timeout: 10000,
  });
  const texts = await page.$$eval('#events li.event', (items) => items.map((li) => li.textContent));
  assert.match(texts[0], /second/);
  assert.match(texts[1], /first/);
  assert.ok(texts[0].includes(ids[1]));
  assert.equal(await page.textContent('#last-id'), ids[1]);

  // The page can publish too (cross-origin POST /publish).
  await page.fill('#message', 'from the page');
  await page.click('#publish-form button');
  await page.waitForFunction(
    () => [...document.querySelectorAll('#events li.event')].some((li) => li.textContent.includes('from the page')),
    null,
    { timeout: 10000 },
  );

  // The daemon dies: the status indicator shows it.
  await hub.stop('SIGKILL');
  await page.waitForSelector(statusSelector('reconnecting'), { timeout: 10000 });
  await page.screenshot({ path: path.join(artifacts, 'demo-reconnecting.png') });

  // It comes back on the same port with a new store: open again, and the page
  // is told to re-hydrate instead of silently missing events.
  await hub.start();
  await page.waitForSelector(statusSelector('open'), { timeout: 15000 });
  await page.waitForFunction(
    () => [...document.querySelectorAll('#events li.rehydrate')].some((li) => li.textContent.includes('replay-truncated:unknown-id')),
    null,
    { timeout: 10000 },
  );
  const [after] = await hub.publish('demo', 'greeting', { text: 'after restart' });
  await page.waitForFunction(
    (id) => document.querySelector('#events li.event')?.textContent.includes(id),
    after,
    { timeout: 10000 },
  );
  await page.screenshot({ path: path.join(artifacts, 'demo.png'), fullPage: true });
  assert.ok(existsSync(path.join(artifacts, 'demo.png')));
});

test('demo page: failed after maxReconnectAttempts, Retry button recovers; topic input switches the stream', async (t) => {
  requireBinary();
  await mkdir(artifacts, { recursive: true });
  const demoPort = await freePort();
  const demoOrigin = `http://127.0.0.1:${demoPort}`;
  const hub = await Ssehub.start({
    env: { SSEHUB_SERVER_CORS_ORIGINS: `http://127.0.0.1:1,${demoOrigin}`, SSEHUB_SERVER_DRAIN_TIMEOUT_MS: '1000' },
  });
  t.after(() => hub.stop('SIGKILL'));
  await startDemoServer(t, demoPort);
  const context = await launchBrowser(t);
  const page = context.pages()[0] ?? (await context.newPage());

  await page.goto(`${demoOrigin}/?ssehub=${encodeURIComponent(hub.origin)}&topic=first&maxReconnectAttempts=2&baseDelayMs=50`);
  await page.waitForSelector(statusSelector('open'), { timeout: 15000 });

  // Switch topic with the input.
  await page.fill('#topic', 'second');
  await page.click('#topic-form button');
  await waitFor(async () => (await page.textContent('#status')) === 'open', { timeoutMs: 10000, message: 'open on the new topic' });
  await hub.publishMany([
    { topic: 'first', type: 'note', data: { text: 'old topic' } },
    { topic: 'second', type: 'note', data: { text: 'new topic' } },
  ]);
  await page.waitForFunction(() => document.querySelectorAll('#events li.event').length >= 1, null, { timeout: 10000 });
  const texts = await page.$$eval('#events li.event', (items) => items.map((li) => li.textContent));
  assert.deepEqual(texts.length, 1);
  assert.match(texts[0], /new topic/);

  // Graceful stop: the client gives up after two attempts.
  await hub.stop('SIGTERM');
  await page.waitForSelector(statusSelector('failed'), { timeout: 15000 });
  assert.equal(await page.textContent('#attempts'), '2');
  await page.screenshot({ path: path.join(artifacts, 'demo-failed.png') });

  await hub.start();
  await page.click('#retry');
  await page.waitForSelector(statusSelector('open'), { timeout: 15000 });
  await page.waitForFunction(
    () => [...document.querySelectorAll('#events li.rehydrate')].some((li) => li.textContent.includes('recover')),
    null,
    { timeout: 10000 },
  );
  const [id] = await hub.publish('second', 'note', { text: 'after retry' });
  await page.waitForFunction((eventId) => document.querySelector('#events li.event')?.textContent.includes(eventId), id, {
    timeout: 10000,
  });
});
