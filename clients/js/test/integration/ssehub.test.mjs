// Integration tests against the real ssehub binary ($SSEHUB_BIN or
// ../../build/ssehub). Each test starts its own daemon on a free loopback port.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { EventStreamClient } from '../../src/index.js';
import { Ssehub, requireBinary, startProxy, headerOf } from '../helpers/ssehub.mjs';
import { waitFor, quiet } from '../helpers/wait.mjs';

function recordingClient(t, url, options = {}) {
  const log = { events: [], statuses: [], rehydrates: [], errors: [] };
  const client = new EventStreamClient({
    url,
    baseDelayMs: 50,
    maxDelayMs: 500,
    onEvent: (event) => log.events.push(event),
    onRehydrate: (reason, info, resume) =>
      log.rehydrates.push({ reason, info, lastEventId: client.lastEventId, resume: resume?.lastEventId }),
    onStatus: (status) => log.statuses.push(status),
    onError: (error) => log.errors.push(error),
    ...options,
  });
  t.after(() => client.close());
  return { client, log };
}

async function startHub(t, env) {
  const hub = await Ssehub.start({ env });
  t.after(() => hub.stop('SIGKILL'));
  return hub;
}

test('the ssehub binary exists', () => {
  requireBinary();
});

test('live events arrive in order with opaque ids; heartbeats keep the stream open', async (t) => {
  const hub = await startHub(t, { SSEHUB_STREAM_HEARTBEAT_MS: '300' });
  const { client, log } = recordingClient(t, `${hub.origin}/events?topic=orders&topic=other`);
  client.connect();
  await waitFor(() => client.connectionId, { timeoutMs: 10000, message: 'ready' });
  assert.equal(client.status, 'open');
  assert.equal(client.heartbeatTimeoutMs, 2 * 300 + 1000, 'timeout derived from ready.heartbeatMs');
  const ids = await hub.publishMany([
    { topic: 'orders', type: 'created', data: { n: 1 } },
    { topic: 'ignored', type: 'created', data: { n: 2 } },
    { topic: 'other', type: 'updated', data: { n: 3, text: 'two\nlines' } },
  ]);
  await waitFor(() => log.events.length === 2, { message: 'two events' });
  assert.deepEqual(log.events, [
    { id: ids[0], type: 'created', data: { n: 1 }, topic: 'orders' },
    { id: ids[2], type: 'updated', data: { n: 3, text: 'two\nlines' }, topic: 'other' },
  ]);
  assert.equal(client.lastEventId, ids[2]);
  // Three timeout periods with heartbeats only: no reconnect.
  await quiet(3 * client.heartbeatTimeoutMs);
  assert.equal(client.status, 'open');
  assert.deepEqual(log.statuses, ['connecting', 'open']);
});

test('after a dropped connection the client replays what it missed with Last-Event-ID', async (t) => {
  const hub = await startHub(t, {});
  const proxy = await startProxy(hub.port);
  t.after(() => proxy.close());
  const { client, log } = recordingClient(t, `http://127.0.0.1:${proxy.port}/events?topic=orders`);
  client.connect();
  await waitFor(() => client.connectionId, { timeoutMs: 10000, message: 'ready' });
  const first = await hub.publishMany([1, 2, 3].map((n) => ({ topic: 'orders', type: 'order', data: { n } })));
  await waitFor(() => log.events.length === 3, { message: 'first three events' });

  proxy.down = true;
  proxy.cut();
  await waitFor(() => client.status === 'reconnecting', { message: 'reconnecting' });
  const missed = await hub.publishMany([4, 5].map((n) => ({ topic: 'orders', type: 'order', data: { n } })));
  proxy.down = false;

  await waitFor(() => log.events.length === 5, { timeoutMs: 10000, message: 'replayed events' });
  assert.deepEqual(log.events.map((e) => e.id), [...first, ...missed]);
  assert.deepEqual(log.events.map((e) => e.data.n), [1, 2, 3, 4, 5]);
  assert.equal(log.rehydrates.length, 0, 'a complete replay needs no re-hydration');
  const reconnectHead = proxy.heads.at(-1);
  assert.equal(headerOf(reconnectHead, 'last-event-id'), first[2]);
  assert.equal(client.status, 'open');

  const live = await hub.publish('orders', 'order', { n: 6 });
  await waitFor(() => log.events.length === 6, { message: 'live after replay' });
  assert.equal(log.events[5].id, live[0]);
});

test('a replay beyond replay.limit yields replay-truncated: the client re-hydrates and resumes from its id', async (t) => {
  const hub = await startHub(t, { SSEHUB_REPLAY_LIMIT: '3' });
  const proxy = await startProxy(hub.port);
  t.after(() => proxy.close());
  const { client, log } = recordingClient(t, `http://127.0.0.1:${proxy.port}/events?topic=orders`);
  client.connect();
  await waitFor(() => client.connectionId, { timeoutMs: 10000, message: 'ready' });
  const [seen] = await hub.publish('orders', 'order', { n: 0 });
  await waitFor(() => client.lastEventId === seen, { message: 'first event' });

  proxy.down = true;
  proxy.cut();
  await waitFor(() => client.status === 'reconnecting', { message: 'reconnecting' });
  const missed = await hub.publishMany(
    [1, 2, 3, 4, 5, 6].map((n) => ({ topic: 'orders', type: 'order', data: { n } })),
  );
  proxy.down = false;

  await waitFor(() => log.rehydrates.length === 1, { timeoutMs: 10000, message: 're-hydration' });
  const [{ reason, info, lastEventId }] = log.rehydrates;
  assert.equal(reason, 'replay-truncated:limit');
  assert.equal(info.limit, 3);
  assert.equal(info.requestedAfter, seen);
  assert.ok(lastEventId && lastEventId !== seen, 'the truncation id became lastEventId');
  // Nothing lost silently: every missed event was either delivered or covered by the re-hydration.
  const delivered = new Set(log.events.map((e) => e.id));
  assert.ok(delivered.size < 1 + missed.length, 'the replay was truncated, not complete');

  // Live delivery resumes after the truncation point; the next reconnect starts there.
  const [next] = await hub.publish('orders', 'order', { n: 7 });
  await waitFor(() => client.lastEventId === next, { message: 'live event after truncation' });
  assert.equal(log.events.at(-1).id, next);
  const ids = log.events.map((e) => e.id);
  assert.equal(new Set(ids).size, ids.length, 'no duplicates');

  proxy.cut();
  await waitFor(() => proxy.heads.length === 3, { timeoutMs: 10000, message: 'third connection' });
  assert.equal(headerOf(proxy.heads[1], 'last-event-id'), seen);
  assert.equal(headerOf(proxy.heads[2], 'last-event-id'), next);
  await waitFor(() => client.status === 'open', { message: 'open' });
  await quiet(200);
  assert.equal(log.rehydrates.length, 1, 'resuming from a current id needs no re-hydration');
});

test('daemon killed and restarted on the same port: reconnecting → open, and the new epoch triggers re-hydration', async (t) => {
  const hub = await startHub(t, { SSEHUB_STREAM_HEARTBEAT_MS: '500' });
  const { client, log } = recordingClient(t, `${hub.origin}/events?topic=orders`, {
    baseDelayMs: 100,
    maxDelayMs: 400,
  });
  client.connect();
  await waitFor(() => client.connectionId, { timeoutMs: 10000, message: 'ready' });
  const [before] = await hub.publish('orders', 'order', { n: 1 });
  await waitFor(() => client.lastEventId === before, { message: 'event before the crash' });

  await hub.stop('SIGKILL');
  await waitFor(() => client.status === 'reconnecting', { timeoutMs: 10000, message: 'reconnecting' });
  await waitFor(() => client.reconnectAttempts >= 2, { timeoutMs: 10000, message: 'a few failed attempts' });
  assert.equal(client.lastEventId, before, 'the id survives failed attempts');

  await hub.start();
  await waitFor(() => client.status === 'open' && client.reconnectAttempts === 0, {
    timeoutMs: 10000,
    message: 'open again',
  });
  await waitFor(() => log.rehydrates.length === 1, { timeoutMs: 10000, message: 're-hydration' });
  assert.equal(log.rehydrates[0].reason, 'replay-truncated:unknown-id');
  assert.equal(log.rehydrates[0].info.requestedAfter, before);
  const statuses = log.statuses.join(',');
  assert.match(statuses, /^connecting,open,reconnecting(,open,reconnecting)*,open$/);

  const [after] = await hub.publish('orders', 'order', { n: 2 });
  await waitFor(() => client.lastEventId === after, { message: 'event after restart' });
  assert.deepEqual(log.events.map((e) => e.data.n), [1, 2]);
});

test('SIGTERM (drain) ends the stream; the client reconnects once ssehub is back', async (t) => {
  const hub = await startHub(t, { SSEHUB_SERVER_DRAIN_TIMEOUT_MS: '1000' });
  const { client, log } = recordingClient(t, `${hub.origin}/events?topic=orders`);
  client.connect();
  await waitFor(() => client.connectionId, { timeoutMs: 10000, message: 'ready' });
  await hub.stop('SIGTERM');
  await waitFor(() => client.status === 'reconnecting', { timeoutMs: 10000, message: 'reconnecting' });
  await hub.start();
  await waitFor(() => client.status === 'open', { timeoutMs: 10000, message: 'open again' });
  const [id] = await hub.publish('orders', 'order', { n: 1 });
  await waitFor(() => client.lastEventId === id, { message: 'event after restart' });
  assert.equal(log.events.length, 1);
});

test('maxReconnectAttempts against a stopped daemon ends in failed; recover() re-hydrates and reconnects', async (t) => {
  const hub = await startHub(t, {});
  const { client, log } = recordingClient(t, `${hub.origin}/events?topic=orders`, {
    baseDelayMs: 20,
    maxDelayMs: 100,
    maxReconnectAttempts: 3,
  });
  client.connect();
  await waitFor(() => client.connectionId, { timeoutMs: 10000, message: 'ready' });
  const [id] = await hub.publish('orders', 'order', { n: 1 });
  await waitFor(() => client.lastEventId === id, { message: 'event' });
  await hub.stop('SIGKILL');
  await waitFor(() => client.status === 'failed', { timeoutMs: 10000, message: 'failed' });
  assert.equal(client.lastEventId, '');
  assert.equal(client.reconnectAttempts, 3);

  await hub.start();
  await client.recover();
  await waitFor(() => client.status === 'open' && client.connectionId, { timeoutMs: 10000, message: 'open' });
  assert.deepEqual(log.rehydrates.map((r) => r.reason), ['recover']);
  const [next] = await hub.publish('orders', 'order', { n: 2 });
  await waitFor(() => client.lastEventId === next, { message: 'event after recover' });
});

test('a stream that saw no event resumes from the position in ready: nothing published meanwhile is missed', async (t) => {
  const hub = await startHub(t, {});
  await hub.publish('other', 'x', {});
  const proxy = await startProxy(hub.port);
  t.after(() => proxy.close());
  const { client, log } = recordingClient(t, `http://127.0.0.1:${proxy.port}/events?topic=quiet`);
  client.connect();
  await waitFor(() => client.connectionId, { timeoutMs: 10000, message: 'ready' });
  assert.match(client.lastEventId, /^[A-Za-z0-9]+-1$/, 'the position ready carried');
  proxy.down = true;
  proxy.cut();
  await waitFor(() => client.status === 'reconnecting', { message: 'reconnecting' });
  const missed = await hub.publish('quiet', 'x', { n: 1 });
  proxy.down = false;
  await waitFor(() => log.events.length === 1, { timeoutMs: 10000, message: 'the event published while away' });
  assert.equal(log.events[0].id, missed[0]);
  assert.equal(log.rehydrates.length, 0);
});

test('recover(): events published while the page re-reads its state are delivered after onRehydrate', async (t) => {
  const hub = await startHub(t, {});
  const order = [];
  let inWindow = [];
  const { client } = recordingClient(t, `${hub.origin}/events?topic=orders`, {
    onEvent: (event) => order.push(`event:${event.id}`),
    onRehydrate: async (reason, info, resume) => {
      order.push(`rehydrate:${reason}`);
      // The page re-reads its state here; events published now used to be lost
      // (re-hydrate first, connect after). The stream is already subscribed.
      inWindow = await hub.publishMany([1, 2, 3].map((n) => ({ topic: 'orders', type: 'order', data: { n } })));
      assert.ok(resume.lastEventId, 'the id delivery continues from');
    },
  });
  client.connect();
  await waitFor(() => client.connectionId, { timeoutMs: 10000, message: 'ready' });
  await client.recover();
  await waitFor(() => order.length === 4, { timeoutMs: 10000, message: 'the events of the window' });
  assert.deepEqual(order, ['rehydrate:recover', ...inWindow.map((id) => `event:${id}`)]);
});

test('setTopics() switches an open stream without missing events of the topics it keeps', async (t) => {
  const hub = await startHub(t, {});
  const { client, log } = recordingClient(t, `${hub.origin}/events?topic=a`);
  client.connect();
  await waitFor(() => client.connectionId, { timeoutMs: 10000, message: 'ready' });
  const first = await hub.publish('a', 'x', {});
  await waitFor(() => log.events.length === 1, { message: 'first' });
  client.setTopics(['a', 'b']);
  const during = await hub.publishMany([
    { topic: 'a', type: 'x', data: {} },
    { topic: 'b', type: 'x', data: {} },
  ]);
  await waitFor(() => log.events.length === 3, { timeoutMs: 10000, message: 'both topics' });
  assert.deepEqual(log.events.map((e) => e.id), [...first, ...during]);
  assert.deepEqual(client.topics, ['a', 'b']);
});
