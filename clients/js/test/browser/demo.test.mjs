// Browser test: the demo page, served by demo/serve.mjs on its own origin,
// in headless Chromium against a real ssehub with server.cors_origins set.
// Screenshots go to test-artifacts/.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { waitFor } from '../helpers/wait.mjs';
import { artifacts, startDemo } from '../helpers/browser.mjs';

function statusSelector(status) {
  return `#status[data-status="${status}"]`;
}

test('demo page shows live events and the connection status across an ssehub crash and restart', async (t) => {
  const { hub, demoOrigin, context } = await startDemo(t, { env: { SSEHUB_STREAM_HEARTBEAT_MS: '500' } });
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
  const { hub, demoOrigin, context } = await startDemo(t, {
    env: { SSEHUB_SERVER_DRAIN_TIMEOUT_MS: '1000' },
    corsOrigins: (origin) => `http://127.0.0.1:1,${origin}`,
  });
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
