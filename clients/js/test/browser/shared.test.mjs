// Browser test: several tabs of the demo page share one stream (shared: true)
// in headless Chromium, with its real Web Locks and BroadcastChannel, against
// a real ssehub. Each test checks ssehub's /metrics: one open stream serves
// every tab. Screenshots go to test-artifacts/.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import { waitFor } from '../helpers/wait.mjs';
import { artifacts, keepPublishing, startDemo } from '../helpers/browser.mjs';

async function openStreams(hub) {
  const text = await (await fetch(`${hub.origin}/metrics`)).text();
  const line = text.split('\n').find((l) => l.startsWith('ssehub_streams_open '));
  return Number(line?.split(' ')[1]);
}

/** A daemon, the demo server and a browser; `tabs(n, query)` opens n tabs of the demo page. */
async function setup(t) {
  const { hub, demoOrigin, context } = await startDemo(t, { env: { SSEHUB_STREAM_HEARTBEAT_MS: '500' } });
  const consoleLines = [];
  t.after(() => {
    if (consoleLines.length) t.diagnostic(`browser console:\n${consoleLines.join('\n')}`);
  });
  const pages = [];
  const tabs = async (n, topic = 'demo') => {
    const opened = [];
    for (let i = 0; i < n; i++) {
      const page = pages.length === 0 && context.pages()[0] ? context.pages()[0] : await context.newPage();
      page.on('pageerror', (error) => consoleLines.push(`pageerror: ${error.message}`));
      await page.goto(`${demoOrigin}/?ssehub=${encodeURIComponent(hub.origin)}&topic=${topic}&baseDelayMs=100`);
      pages.push(page);
      opened.push(page);
    }
    return opened;
  };
  const live = () => pages.filter((page) => !page.isClosed());
  const roles = () => Promise.all(live().map((page) => page.getAttribute('#role', 'data-role')));
  const received = (page) => page.evaluate(() => window.ssehubDemo.received.events.map((e) => e.id));
  /** One leader, every tab open, one stream on the daemon. */
  const settled = (message) =>
    waitFor(
      async () => {
        const all = await roles();
        const statuses = await Promise.all(live().map((page) => page.getAttribute('#status', 'data-status')));
        return (
          all.filter((role) => role === 'leader').length === 1 &&
          all.every((role) => role === 'leader' || role === 'follower') &&
          statuses.every((status) => status === 'open') &&
          (await openStreams(hub)) === 1
        );
      },
      { timeoutMs: 15000, intervalMs: 100, message },
    );
  return { hub, tabs, live, roles, received, settled };
}

test('four tabs share one stream: every tab receives every event of its topic once, in order', async (t) => {
  const { hub, tabs, received, settled } = await setup(t);
  const pages = await tabs(4);
  await settled('four tabs on one stream');
  const ids = [];
  for (let batch = 0; batch < 4; batch++) {
    ids.push(...(await hub.publishMany([0, 1, 2, 3, 4].map((i) => ({ topic: 'demo', type: 'note', data: { batch, i } })))));
  }
  await hub.publish('elsewhere', 'note', {});
  for (const page of pages) {
    await waitFor(async () => (await received(page)).length >= ids.length, { timeoutMs: 10000, message: 'all events' });
    assert.deepEqual(await received(page), ids);
  }
  assert.equal(await openStreams(hub), 1);
  for (const [i, page] of pages.entries()) await page.screenshot({ path: path.join(artifacts, `shared-tab-${i + 1}.png`) });
});

test('closing the leader tab mid-stream moves the stream to another tab; no tab misses or repeats an event', async (t) => {
  const { hub, tabs, live, received, settled } = await setup(t);
  const pages = await tabs(4);
  await settled('four tabs on one stream');
  const ids = [];
  const publisher = keepPublishing(hub, 'demo', ids);
  await waitFor(() => ids.length >= 20, { timeoutMs: 10000, message: 'events flowing' });
  const leader = await (async () => {
    for (const page of pages) if ((await page.getAttribute('#role', 'data-role')) === 'leader') return page;
    throw new Error('no leader');
  })();
  const connectionIds = () => Promise.all(live().map((page) => page.evaluate(() => window.ssehubDemo.client.connectionId)));
  const [before] = await connectionIds();
  const closedAt = Date.now();
  await leader.close({ runBeforeUnload: true }); // runs pagehide; does not wait for the close
  await waitFor(() => leader.isClosed(), { timeoutMs: 10000, message: 'the leader tab closed' });
  await settled('a new leader');
  await waitFor(
    async () => {
      const now = await connectionIds();
      return now[0] && now[0] !== before && now.every((id) => id === now[0]);
    },
    { timeoutMs: 10000, intervalMs: 20, message: "every tab on the new leader's stream" },
  );
  t.diagnostic(`handover: one stream again, open in every tab, ${Date.now() - closedAt} ms after the close`);
  const atHandover = ids.length;
  await waitFor(() => ids.length >= atHandover + 40, { timeoutMs: 15000, message: 'more events after the handover' });
  await publisher.stop();
  for (const page of live()) {
    await waitFor(async () => (await received(page)).at(-1) === ids.at(-1), { timeoutMs: 10000, message: 'caught up' });
    const got = await received(page);
    // Each tab started at its first event; from there on, everything once and in order.
    const from = ids.indexOf(got[0]);
    assert.ok(from !== -1 && from < 20, 'the tab was receiving before the close');
    assert.deepEqual(got, ids.slice(from));
  }
  assert.equal(live().length, 3);
  assert.equal(await openStreams(hub), 1);
  await live()[0].screenshot({ path: path.join(artifacts, 'shared-after-handover.png') });
});

test('a tab that subscribes to a new topic receives it, and the other tabs see no gap', async (t) => {
  const { hub, tabs, received, settled } = await setup(t);
  const pages = await tabs(3);
  await settled('three tabs on one stream');
  const demoIds = [];
  const publisher = keepPublishing(hub, 'demo', demoIds);
  await waitFor(() => demoIds.length >= 10, { timeoutMs: 10000, message: 'events flowing' });
  const changer = pages[1];
  await changer.evaluate(() => window.ssehubDemo.client.setTopics(['demo', 'extra']));
  await waitFor(async () => (await changer.evaluate(() => window.ssehubDemo.client.topics)).length === 2, {
    message: 'topics set',
  });
  await waitFor(() => demoIds.length >= 40, { timeoutMs: 15000, message: 'events across the reconnect' });
  const [extra] = await hub.publish('extra', 'note', { hello: true });
  await waitFor(async () => (await received(changer)).includes(extra), { timeoutMs: 10000, message: 'the new topic' });
  await publisher.stop();
  await settled('still one stream');
  for (const page of pages) {
    await waitFor(async () => (await received(page)).includes(demoIds.at(-1)), { timeoutMs: 10000, message: 'caught up' });
    const got = (await received(page)).filter((id) => id !== extra);
    const from = demoIds.indexOf(got[0]);
    assert.ok(from !== -1 && from < 10);
    assert.deepEqual(got, demoIds.slice(from), 'every demo event once, in order');
    assert.equal((await received(page)).includes(extra), page === changer);
  }
  await changer.screenshot({ path: path.join(artifacts, 'shared-new-topic.png'), fullPage: true });
});
