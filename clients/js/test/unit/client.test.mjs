import { test } from 'node:test';
import assert from 'node:assert/strict';
import { EventStreamClient, HttpStatusError, heartbeatTimeoutFor } from '../../src/index.js';
import { startScriptServer, openStream, readyFrame, eventFrame, errorResponse } from '../helpers/script-server.mjs';
import { waitFor, quiet, deferred } from '../helpers/wait.mjs';

/** A client whose callbacks are recorded; closed and its server stopped at test end. */
function makeClient(t, server, options = {}) {
  const log = { events: [], statuses: [], rehydrates: [], errors: [], order: [] };
  const client = new EventStreamClient({
    url: server.url,
    baseDelayMs: 20,
    maxDelayMs: 200,
    onEvent: (event) => {
      log.events.push(event);
      log.order.push(`event:${event.id}`);
    },
    onRehydrate: (reason, info) => {
      log.rehydrates.push({ reason, info });
      log.order.push(`rehydrate:${reason}`);
    },
    onStatus: (status, detail) => log.statuses.push({ status, attempts: detail.reconnectAttempts }),
    onError: (error) => log.errors.push(error),
    ...options,
  });
  t.after(async () => {
    client.close();
    await server.close();
  });
  return { client, log };
}

const statusNames = (log) => log.statuses.map((s) => s.status);

test('delivers events with parsed JSON data, id and type; status goes idle → connecting → open', async (t) => {
  const server = await startScriptServer((req, res) => {
    openStream(res);
    res.write(readyFrame());
    res.write(eventFrame('e1-1', 'order', { n: 1 }));
    res.write('id: e1-2\nevent: note\ndata: not json\n\n');
  });
  const { client, log } = makeClient(t, server);
  assert.equal(client.status, 'idle');
  client.connect();
  assert.equal(client.status, 'connecting');
  await waitFor(() => log.events.length === 2, { message: 'two events' });
  assert.deepEqual(log.events, [
    { id: 'e1-1', type: 'order', data: { n: 1 } },
    { id: 'e1-2', type: 'note', data: 'not json' },
  ]);
  assert.equal(client.status, 'open');
  assert.equal(client.lastEventId, 'e1-2');
  assert.equal(client.connectionId, 'c1');
  assert.equal(client.serverRetryMs, 1000);
  assert.deepEqual(statusNames(log), ['connecting', 'open']);
  assert.equal(server.requests[0].headers.accept, 'text/event-stream');
  assert.equal(server.requests[0].headers['last-event-id'], undefined, 'no Last-Event-ID on first connect');
});

test('control events (ready, heartbeat) are not delivered to onEvent', async (t) => {
  const server = await startScriptServer((req, res) => {
    openStream(res);
    res.write(readyFrame());
    res.write('event: heartbeat\ndata: {"ts":1}\n\n');
    res.write(eventFrame('1-1', 'x', {}));
  });
  const { client, log } = makeClient(t, server);
  client.connect();
  await waitFor(() => log.events.length === 1, { message: 'one event' });
  await quiet(30);
  assert.deepEqual(log.events.map((e) => e.type), ['x']);
});

test('Last-Event-ID is sent on every reconnect', async (t) => {
  const server = await startScriptServer((req, res, index) => {
    openStream(res);
    res.write(readyFrame());
    if (index < 3) res.end(eventFrame(`e-${index + 1}`, 'tick', { index }));
    // the fourth connection stays open
  });
  const { client } = makeClient(t, server);
  client.connect();
  await waitFor(() => server.requests.length === 4, { message: 'four connections' });
  assert.deepEqual(
    server.requests.map((r) => r.headers['last-event-id']),
    [undefined, 'e-1', 'e-2', 'e-3'],
  );
  await waitFor(() => client.status === 'open', { message: 'open' });
});

test('reconnectAttempts counts real attempts only and resets after a healthy connection', async (t) => {
  let client;
  const seen = [];
  const server = await startScriptServer((req, res, index) => {
    seen.push(client.reconnectAttempts); // the counter as the attempt reaches the server
    if (index < 4) return errorResponse(res, 503, 'unavailable');
    openStream(res);
    res.write(readyFrame());
  });
  let fetchCalls = 0;
  const countingFetch = (input, init) => {
    fetchCalls++;
    return fetch(input, init);
  };
  ({ client } = makeClient(t, server, { baseDelayMs: 30, fetch: countingFetch }));
  // Sample the counter continuously: it must never be ahead of the attempts really started.
  const ahead = [];
  const sampler = setInterval(() => {
    if (client.reconnectAttempts > Math.max(0, fetchCalls - 1)) {
      ahead.push(`${client.reconnectAttempts} > ${fetchCalls - 1}`);
    }
  }, 1);
  t.after(() => clearInterval(sampler));
  client.connect();
  await waitFor(() => client.status === 'open' && client.reconnectAttempts === 0 && server.requests.length === 5, {
    message: 'healthy connection after four failures',
  });
  clearInterval(sampler);
  assert.deepEqual(seen, [0, 1, 2, 3, 4], 'the first connect is not a reconnect; one count per attempt');
  assert.deepEqual(ahead, [], 'counter ran ahead of real attempts');
});

test('a stream ended by the server reconnects; the counter resets once the new stream is healthy', async (t) => {
  const server = await startScriptServer((req, res, index) => {
    openStream(res);
    res.write(readyFrame());
    if (index === 0) res.end();
  });
  const { client, log } = makeClient(t, server);
  client.connect();
  await waitFor(() => server.requests.length === 2 && client.status === 'open' && client.connectionId, {
    message: 'second connection open',
  });
  assert.deepEqual(statusNames(log), ['connecting', 'open', 'reconnecting', 'open']);
  await waitFor(() => client.reconnectAttempts === 0, { message: 'counter reset' });
  assert.ok(log.statuses.some((s) => s.status === 'open' && s.attempts === 1), 'the reconnect was counted');
});

test('backoff delays grow with full jitter and stay under maxDelayMs', async (t) => {
  const realRandom = Math.random;
  Math.random = () => 0.999; // top of every jitter window
  t.after(() => {
    Math.random = realRandom;
  });
  // The delays are read where the client schedules them. Wall-clock gaps
  // between requests also hold the round trip and any event-loop stall (over
  // 100 ms on a loaded machine), so they bound the delays only from below.
  const connectTimeoutMs = 60000;
  const scheduled = [];
  const realSetTimeout = globalThis.setTimeout;
  t.mock.method(globalThis, 'setTimeout', (callback, ms, ...args) => {
    if (ms !== connectTimeoutMs && new Error().stack.includes('/src/client.js')) scheduled.push(ms);
    return realSetTimeout(callback, ms, ...args);
  });
  const server = await startScriptServer((req, res) => errorResponse(res, 500, 'internal'));
  const { client } = makeClient(t, server, { baseDelayMs: 10, maxDelayMs: 100, maxReconnectAttempts: 9, connectTimeoutMs });
  client.connect();
  await waitFor(() => client.status === 'failed', { timeoutMs: 10000, message: 'failed' });
  Math.random = realRandom;
  // Windows: 10, 20, 40, 80, then capped at 100 (uncapped would be 160, 320, 640, 1280, 2560).
  const windows = [10, 20, 40, 80, 100, 100, 100, 100, 100];
  assert.deepEqual(scheduled, windows.map((w) => Math.floor(0.999 * w)), 'one delay per reconnect, at the top of its window');
  const gaps = server.requests.slice(1).map((r, i) => r.at - server.requests[i].at);
  assert.equal(gaps.length, 9);
  // The client really waits: timers never fire early (2 ms for the whole-ms rounding of timers and Date.now).
  gaps.forEach((gap, i) => assert.ok(gap >= scheduled[i] - 2, `gap ${gap} ms is shorter than the delay ${scheduled[i]} ms`));
});

test('Retry-After is honoured but capped at maxDelayMs', async (t) => {
  const server = await startScriptServer((req, res, index) => {
    if (index === 0) return errorResponse(res, 503, 'draining', '', { 'Retry-After': '1' });
    openStream(res);
    res.write(readyFrame());
  });
  const { client } = makeClient(t, server, { baseDelayMs: 5, maxDelayMs: 300 });
  client.connect();
  await waitFor(() => server.requests.length === 2, { message: 'second attempt' });
  const gap = server.requests[1].at - server.requests[0].at;
  assert.ok(gap >= 290 && gap < 900, `gap ${gap}`);
});

test('after maxReconnectAttempts failures: failed, lastEventId cleared, no more attempts; recover() connects, then re-hydrates on ready, then delivers', async (t) => {
  let mode = 'first';
  const server = await startScriptServer((req, res) => {
    if (mode === 'first') {
      mode = 'down';
      openStream(res);
      res.write(readyFrame());
      res.end(eventFrame('ep-41', 'order', { n: 41 }));
      return;
    }
    if (mode === 'down') return res.destroy(); // connection reset
    openStream(res);
    res.write(readyFrame());
    res.write(eventFrame('ep2-1', 'order', { n: 1 }));
  });
  const rehydrated = deferred();
  const { client, log } = makeClient(t, server, {
    maxReconnectAttempts: 3,
    onRehydrate: (reason) => {
      log.rehydrates.push({ reason });
      log.order.push(`rehydrate:${reason}:requests=${server.requests.length}`);
      return rehydrated.promise;
    },
  });
  client.connect();
  await waitFor(() => client.status === 'failed', { message: 'failed' });
  assert.equal(server.requests.length, 4, 'one connect and three reconnects');
  assert.equal(client.reconnectAttempts, 3);
  assert.equal(client.lastEventId, '');
  assert.deepEqual(
    server.requests.map((r) => r.headers['last-event-id']),
    [undefined, 'ep-41', 'ep-41', 'ep-41'],
  );
  await quiet(300);
  assert.equal(server.requests.length, 4, 'no attempts after failed');
  assert.equal(client.status, 'failed');

  mode = 'up';
  let settled = false;
  const recovered = client.recover().then(() => (settled = true));
  assert.equal(client.reconnectAttempts, 0);
  // The new order: the stream is connected (and subscribed: `ready`) before
  // the page re-reads its state, so nothing published meanwhile is lost.
  await waitFor(() => log.rehydrates.length === 1, { message: 'rehydrate called' });
  assert.equal(log.rehydrates[0].reason, 'recover');
  assert.deepEqual(log.order, ['event:ep-41', 'rehydrate:recover:requests=5']);
  await quiet(50);
  assert.equal(log.events.length, 1, 'the event that followed ready is held until onRehydrate settles');
  assert.equal(settled, false);
  rehydrated.resolve();
  await recovered;
  await waitFor(() => client.status === 'open' && log.events.length === 2, { message: 'open again' });
  assert.equal(server.requests[4].headers['last-event-id'], undefined, 'fresh start after recover');
  assert.deepEqual(log.order, ['event:ep-41', 'rehydrate:recover:requests=5', 'event:ep2-1']);
  assert.equal(client.lastEventId, 'ep2-1');
});

test('maxReconnectAttempts = 0 fails on the first error', async (t) => {
  const server = await startScriptServer((req, res) => errorResponse(res, 500));
  const { client, log } = makeClient(t, server, { maxReconnectAttempts: 0 });
  client.connect();
  await waitFor(() => client.status === 'failed', { message: 'failed' });
  assert.equal(server.requests.length, 1);
  assert.ok(log.errors[0] instanceof HttpStatusError && log.errors[0].status === 500);
});

test('concurrent recover() calls share one re-hydration', async (t) => {
  const server = await startScriptServer((req, res) => {
    openStream(res);
    res.write(readyFrame());
  });
  const { client, log } = makeClient(t, server);
  const a = client.recover();
  const b = client.recover();
  assert.equal(a, b);
  await a;
  await waitFor(() => client.status === 'open', { message: 'open' });
  assert.equal(log.rehydrates.length, 1);
  assert.equal(server.requests.length, 1);
});

test('replay-truncated re-hydrates with its reason, moves lastEventId, and later events wait for onRehydrate', async (t) => {
  const server = await startScriptServer((req, res) => {
    openStream(res);
    res.write(readyFrame());
    res.write(
      'id: ep-100\nevent: replay-truncated\ndata: {"reason":"limit","limit":3,"requestedAfter":"ep-2"}\n\n',
    );
    res.write(eventFrame('ep-101', 'order', { n: 101 }));
    res.write(eventFrame('ep-102', 'order', { n: 102 }));
  });
  const gate = deferred();
  const { client, log } = makeClient(t, server, {
    onRehydrate: async (reason, info) => {
      log.rehydrates.push({ reason, info, lastEventId: client.lastEventId });
      log.order.push(`rehydrate:${reason}`);
      await gate.promise;
      log.order.push('settled');
    },
  });
  client.connect();
  await waitFor(() => log.rehydrates.length === 1, { message: 'rehydrate' });
  assert.equal(log.rehydrates[0].reason, 'replay-truncated:limit');
  assert.deepEqual(log.rehydrates[0].info, { reason: 'limit', limit: 3, requestedAfter: 'ep-2' });
  await waitFor(() => client.lastEventId === 'ep-102', { message: 'both events received' });
  assert.equal(log.events.length, 0, 'events wait while onRehydrate runs');
  gate.resolve();
  await waitFor(() => log.events.length === 2, { message: 'events delivered' });
  assert.deepEqual(log.order, ['rehydrate:replay-truncated:limit', 'settled', 'event:ep-101', 'event:ep-102']);
});

test('the id on replay-truncated becomes lastEventId and is sent on the next reconnect', async (t) => {
  const server = await startScriptServer((req, res, index) => {
    openStream(res);
    res.write(readyFrame());
    if (index === 0) {
      res.end('id: ep-500\nevent: replay-truncated\ndata: {"reason":"unknown-id","limit":3,"requestedAfter":"x-1"}\n\n');
    }
  });
  const { client, log } = makeClient(t, server, { headers: { 'Last-Event-ID': 'ignored' } });
  client.connect();
  await waitFor(() => server.requests.length === 2, { message: 'reconnect' });
  assert.equal(server.requests[1].headers['last-event-id'], 'ep-500');
  assert.equal(log.rehydrates[0].reason, 'replay-truncated:unknown-id');
});

test('replay-failed re-hydrates with its reason and keeps lastEventId; a rejecting onRehydrate is reported and delivery continues', async (t) => {
  const rehydrating = deferred();
  const server = await startScriptServer(async (req, res) => {
    openStream(res);
    res.write(readyFrame());
    res.write(eventFrame('ep-7', 'order', { n: 7 }));
    res.write('event: replay-failed\ndata: {"reason":"timeout"}\n\n');
    await rehydrating.promise;
    res.write(eventFrame('ep-8', 'order', { n: 8 }));
  });
  const { client, log } = makeClient(t, server, {
    onRehydrate: async (reason) => {
      log.order.push(`rehydrate:${reason}:${client.lastEventId}`);
      rehydrating.resolve();
      throw new Error('api down');
    },
  });
  client.connect();
  await waitFor(() => log.events.length === 2, { message: 'events' });
  assert.deepEqual(log.order, ['event:ep-7', 'rehydrate:replay-failed:timeout:ep-7', 'event:ep-8']);
  assert.ok(log.errors.some((e) => e.message === 'api down'));
});

test('heartbeat timeout comes from ready.heartbeatMs unless heartbeatTimeoutMs is given', async (t) => {
  const server = await startScriptServer((req, res) => {
    openStream(res);
    res.write(readyFrame(400));
  });
  const { client } = makeClient(t, server);
  client.connect();
  await waitFor(() => client.connectionId, { message: 'ready' });
  assert.equal(client.heartbeatTimeoutMs, heartbeatTimeoutFor(400));
  // silent stream: the monitor reconnects after 2 × 400 + margin
  await waitFor(() => server.requests.length === 2, { timeoutMs: 5000, message: 'reconnect after silence' });
  const gap = server.requests[1].at - server.requests[0].at;
  assert.ok(gap >= heartbeatTimeoutFor(400) - 20, `reconnected after ${gap} ms`);

  const server2 = await startScriptServer((req, res) => {
    openStream(res);
    res.write(readyFrame(400));
  });
  const other = makeClient(t, server2, { heartbeatTimeoutMs: 150 });
  other.client.connect();
  await waitFor(() => other.client.connectionId, { message: 'ready' });
  assert.equal(other.client.heartbeatTimeoutMs, 150);
});

test('any received bytes (comments, heartbeats) keep the connection alive', async (t) => {
  const server = await startScriptServer((req, res) => {
    openStream(res);
    res.write(readyFrame());
    const timer = setInterval(() => res.write(':\n'), 20);
    res.on('close', () => clearInterval(timer));
  });
  const { client } = makeClient(t, server, { heartbeatTimeoutMs: 100 });
  client.connect();
  await waitFor(() => client.status === 'open', { message: 'open' });
  await quiet(500);
  assert.equal(server.requests.length, 1, 'no reconnect while bytes flow');
  assert.equal(client.status, 'open');
});

test('a heartbeat timeout during a slow reconnect does not inflate the counter', async (t) => {
  const release = deferred();
  const server = await startScriptServer(async (req, res, index) => {
    if (index === 1) await release.promise; // the reconnect hangs before sending headers
    openStream(res);
    res.write(readyFrame());
    // then silence
  });
  const { client, log } = makeClient(t, server, { heartbeatTimeoutMs: 60, baseDelayMs: 1 });
  client.connect();
  await waitFor(() => server.requests.length === 2, { message: 'monitor triggered a reconnect' });
  // Ten monitor periods pass while the attempt is under way.
  await quiet(600);
  assert.equal(server.requests.length, 2, 'no extra attempts');
  assert.equal(client.reconnectAttempts, 1, 'counter equals real attempts');
  assert.equal(client.status, 'reconnecting');
  release.resolve();
  await waitFor(() => client.status === 'open', { message: 'open after the slow attempt' });
  await waitFor(() => client.reconnectAttempts === 0, { message: 'reset after ready' });
  // The new connection restarted the monitor: silence leads to one more reconnect.
  await waitFor(() => server.requests.length === 3, { message: 'monitor re-armed' });
  assert.ok(log.errors.some((e) => e.reason === 'heartbeat-timeout'));
});

test('the heartbeat monitor is stopped while waiting to reconnect', async (t) => {
  const realRandom = Math.random;
  Math.random = () => 0.999; // a long backoff: 300 ms
  t.after(() => {
    Math.random = realRandom;
  });
  const server = await startScriptServer((req, res, index) => {
    openStream(res);
    if (index === 0) res.end(readyFrame());
    else res.write(readyFrame());
  });
  const { client, log } = makeClient(t, server, { heartbeatTimeoutMs: 40, baseDelayMs: 300, maxDelayMs: 1000 });
  client.connect();
  await waitFor(() => server.requests.length === 2, { message: 'reconnected' });
  Math.random = realRandom;
  const gap = server.requests[1].at - server.requests[0].at;
  assert.ok(gap >= 280, `waited the backoff (${gap} ms)`);
  assert.deepEqual(
    log.errors.map((e) => e.reason),
    ['ended'],
    'no heartbeat timeout fired during the backoff',
  );
});

test('close() leaves no timers behind', async (t) => {
  const timers = () => process.getActiveResourcesInfo().filter((r) => r === 'Timeout').length;
  const server = await startScriptServer((req, res, index) => {
    if (index === 0) return errorResponse(res, 503);
    openStream(res);
    res.write(readyFrame());
  });
  const before = timers();
  const { client } = makeClient(t, server, { baseDelayMs: 5 });
  client.connect();
  await waitFor(() => client.status === 'open' && client.connectionId, { message: 'open' });
  assert.ok(timers() > before, 'the monitor is armed while open');
  client.close();
  assert.equal(timers(), before);
});

test('connectTimeoutMs aborts an attempt that never gets response headers', async (t) => {
  const server = await startScriptServer(() => {
    // never answer
  });
  const { client, log } = makeClient(t, server, { connectTimeoutMs: 80, maxReconnectAttempts: 2 });
  client.connect();
  await waitFor(() => client.status === 'failed', { message: 'failed after timeouts' });
  assert.equal(server.requests.length, 3);
  assert.ok(log.errors.every((e) => e.reason === 'connect-timeout'), log.errors.map(String).join());
});

test('a response that is not text/event-stream counts as a failed attempt', async (t) => {
  const server = await startScriptServer((req, res, index) => {
    if (index === 0) {
      res.writeHead(200, { 'Content-Type': 'text/html' });
      return res.end('<html></html>');
    }
    openStream(res);
    res.write(readyFrame());
  });
  const { client, log } = makeClient(t, server);
  client.connect();
  await waitFor(() => client.status === 'open' && server.requests.length === 2, { message: 'second attempt open' });
  assert.equal(log.errors[0].reason, 'bad-content-type');
});

test('getToken is awaited before connecting; token-expired and 401 fetch a fresh token before reconnecting', async (t) => {
  let issued = 0;
  const valid = new Set();
  const server = await startScriptServer((req, res, index) => {
    const token = (req.headers.authorization ?? '').replace(/^Bearer /, '');
    if (!valid.has(token)) return errorResponse(res, 401, 'unauthorized', 'invalid token');
    openStream(res);
    res.write(readyFrame());
    res.write(eventFrame(`ep-${index}`, 'order', { index }));
    if (index === 0) {
      valid.delete(token);
      res.end('event: token-expired\ndata: {}\n\n');
    }
    if (index === 1) valid.clear(); // the next token is revoked before use
  });
  const { client, log } = makeClient(t, server, {
    getToken: async () => {
      issued++;
      const token = `tok-${issued}`;
      if (issued !== 3) valid.add(token); // token 3 is rejected with 401
      return token;
    },
  });
  client.connect();
  await waitFor(() => log.events.length === 2, { message: 'events on two tokens' });
  assert.deepEqual(
    server.requests.map((r) => r.headers.authorization),
    ['Bearer tok-1', 'Bearer tok-2'],
  );
  assert.equal(server.requests[1].headers['last-event-id'], 'ep-0');

  // Now a 401 with a stale token: the client asks for a fresh one.
  const server2 = await startScriptServer((req, res) => {
    const token = (req.headers.authorization ?? '').replace(/^Bearer /, '');
    if (!valid.has(token)) return errorResponse(res, 401, 'unauthorized', 'invalid token');
    openStream(res);
    res.write(readyFrame());
  });
  valid.clear();
  const second = makeClient(t, server2, {
    getToken: async () => {
      issued++;
      const token = `tok-${issued}`;
      if (issued !== 3) valid.add(token);
      return token;
    },
  });
  second.client.connect();
  await waitFor(() => second.client.status === 'open', { message: 'open after 401' });
  assert.deepEqual(
    server2.requests.map((r) => r.headers.authorization),
    ['Bearer tok-3', 'Bearer tok-4'],
  );
  assert.ok(second.log.errors[0] instanceof HttpStatusError && second.log.errors[0].status === 401);
  assert.equal(second.log.errors[0].code, 'unauthorized');
});

test('a 401 without getToken keeps retrying with backoff until failed', async (t) => {
  const server = await startScriptServer((req, res) => errorResponse(res, 401, 'unauthorized'));
  const { client } = makeClient(t, server, { maxReconnectAttempts: 2, headers: { Authorization: 'Bearer fixed' } });
  client.connect();
  await waitFor(() => client.status === 'failed', { message: 'failed' });
  assert.equal(server.requests.length, 3);
  assert.ok(server.requests.every((r) => r.headers.authorization === 'Bearer fixed'));
});

test('close() stops the stream and every retry', { timeout: 10000 }, async (t) => {
  // close() is called at a fixed point: the first retry has failed and the
  // next one is waiting out its backoff. Polling server.requests instead is
  // racy: a short jittered delay lets the count pass any exact value between
  // two polls, and an attempt already on the wire at close() still reaches
  // the server afterwards.
  const maxDelayMs = 200;
  const server = await startScriptServer((req, res) => errorResponse(res, 500));
  let fetchCalls = 0;
  const retryPending = deferred();
  const { client, log } = makeClient(t, server, {
    baseDelayMs: 30,
    maxDelayMs,
    fetch: (input, init) => {
      fetchCalls++;
      return fetch(input, init);
    },
    onError: (error) => {
      log.errors.push(error);
      // The client schedules its next attempt right after reporting the
      // error, in the same job; the test resumes only after that job.
      if (log.errors.length === 2) retryPending.resolve();
    },
  });
  client.connect();
  await retryPending.promise;
  assert.equal(client.status, 'reconnecting', 'a retry is pending');
  assert.equal(fetchCalls, 2, 'one connect and one retry so far');
  assert.equal(server.requests.length, fetchCalls, 'no attempt in flight');
  client.close();
  const count = server.requests.length;
  await quiet(maxDelayMs + 100); // longer than any backoff delay
  assert.equal(fetchCalls, count, 'no attempt started after close()');
  assert.equal(server.requests.length, count);
  assert.equal(client.status, 'closed');
  assert.equal(log.statuses.at(-1).status, 'closed');
});

test('close() while open aborts the stream; pending deliveries are dropped', async (t) => {
  let closedByClient = false;
  const server = await startScriptServer((req, res) => {
    openStream(res);
    res.write(readyFrame());
    res.write('event: replay-failed\ndata: {"reason":"busy"}\n\n');
    res.write(eventFrame('ep-1', 'order', {}));
    res.on('close', () => {
      closedByClient = true;
    });
  });
  const gate = deferred();
  const { client, log } = makeClient(t, server, { onRehydrate: () => gate.promise });
  client.connect();
  await waitFor(() => client.lastEventId === 'ep-1', { message: 'event received' });
  client.close();
  gate.resolve();
  await waitFor(() => closedByClient, { message: 'server saw the close' });
  await quiet(50);
  assert.equal(log.events.length, 0);
});

test('in browsers, online and visibilitychange call recover() when failed; close() removes the listeners', async (t) => {
  // EventTargets that count their listeners, standing in for window and document.
  const listeners = { online: 0, visibilitychange: 0 };
  const counting = (target) => {
    const add = target.addEventListener.bind(target);
    const remove = target.removeEventListener.bind(target);
    target.addEventListener = (type, fn) => {
      listeners[type]++;
      add(type, fn);
    };
    target.removeEventListener = (type, fn) => {
      listeners[type]--;
      remove(type, fn);
    };
    return target;
  };
  const fakeWindow = counting(new EventTarget());
  const fakeDocument = Object.assign(counting(new EventTarget()), { visibilityState: 'hidden' });
  globalThis.window = fakeWindow;
  globalThis.document = fakeDocument;
  t.after(() => {
    delete globalThis.window;
    delete globalThis.document;
  });
  let up = false;
  const server = await startScriptServer((req, res) => {
    if (!up) return errorResponse(res, 503);
    openStream(res);
    res.write(readyFrame());
  });
  const { client, log } = makeClient(t, server, { maxReconnectAttempts: 1 });
  client.connect();
  assert.deepEqual(listeners, { online: 1, visibilitychange: 1 });
  await waitFor(() => client.status === 'failed', { message: 'failed' });

  // Not failed-relevant: hidden visibility does nothing.
  fakeDocument.dispatchEvent(new Event('visibilitychange'));
  await quiet(50);
  assert.equal(client.status, 'failed');

  up = true;
  fakeWindow.dispatchEvent(new Event('online'));
  await waitFor(() => log.rehydrates.length === 1, { message: 'recovered on online' });
  assert.deepEqual(log.rehydrates.map((r) => r.reason), ['recover']);

  // Events while not failed do nothing.
  fakeWindow.dispatchEvent(new Event('online'));
  await quiet(50);
  assert.equal(log.rehydrates.length, 1);

  // Fail again, then come back through visibilitychange.
  up = false;
  server.requests.length = 0;
  const s2 = await startScriptServer((req, res) => errorResponse(res, 503));
  t.after(() => s2.close());
  client.close();
  const again = new EventStreamClient({
    url: s2.url,
    baseDelayMs: 5,
    maxReconnectAttempts: 0,
    onRehydrate: (reason) => log.rehydrates.push({ reason }),
  });
  t.after(() => again.close());
  again.connect();
  await waitFor(() => again.status === 'failed', { message: 'second client failed' });
  fakeDocument.visibilityState = 'visible';
  fakeDocument.dispatchEvent(new Event('visibilitychange'));
  await waitFor(() => s2.requests.length === 2, { message: 'recover on visibilitychange' });
  assert.equal(log.rehydrates.length, 1, 'no re-hydration before a stream is ready');

  // After close(), neither event triggers anything.
  await waitFor(() => again.status === 'failed', { message: 'failed again' });
  again.close();
  fakeWindow.dispatchEvent(new Event('online'));
  fakeDocument.dispatchEvent(new Event('visibilitychange'));
  await quiet(100);
  assert.equal(s2.requests.length, 2);
  assert.deepEqual(listeners, { online: 0, visibilitychange: 0 }, 'close() removed every listener');
  assert.equal(again.status, 'closed');
  assert.equal(client.status, 'closed');
  assert.equal(log.rehydrates.length, 1);
});

test('options are validated', () => {
  assert.throws(() => new EventStreamClient({}), /url is required/);
  assert.throws(() => new EventStreamClient({ url: 'http://127.0.0.1/', baseDelayMs: -1 }), /baseDelayMs/);
});
