// The stream shared by tabs (shared: true) with fake Web Locks and
// BroadcastChannel (test/helpers/fake-browser.mjs) against a stand-in for
// ssehub (test/helpers/fake-hub.mjs).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { EventStreamClient } from '../../src/index.js';
import { FakeBrowser } from '../helpers/fake-browser.mjs';
import { startFakeHub } from '../helpers/fake-hub.mjs';
import { waitFor, quiet } from '../helpers/wait.mjs';

const FAST = { electionMs: 20, leaderHeartbeatMs: 50, leaderTimeoutMs: 400, memberCheckMs: 50 };

async function setup(t, hubOptions, browserOptions) {
  const hub = await startFakeHub(hubOptions);
  const browser = new FakeBrowser(browserOptions);
  const members = [];
  t.after(async () => {
    for (const member of members) member.client.close();
    await hub.close();
  });
  /** A tab with one shared client on `topics`. */
  const join = (topics, { tab = browser.tab(), timings = FAST, ...options } = {}) => {
    const log = { events: [], rehydrates: [], statuses: [], errors: [] };
    const client = new EventStreamClient({
      url: hub.url(...topics),
      shared: tab.shared(timings),
      fetch: tab.fetch,
      baseDelayMs: 10,
      maxDelayMs: 50,
      onEvent: (event) => log.events.push(event),
      onRehydrate: (reason, info, resume) => log.rehydrates.push({ reason, info, resume }),
      onStatus: (status) => log.statuses.push(status),
      onError: (error) => log.errors.push(error),
      ...options,
    });
    const member = { client, log, tab, ids: () => log.events.map((e) => e.id) };
    members.push(member);
    client.connect();
    return member;
  };
  const leaders = () => members.filter((m) => !m.tab.crashed && m.client.status !== 'closed' && m.client.role === 'leader');
  const settled = async (message = 'one leader with an open stream') =>
    until(
      () =>
        leaders().length === 1 &&
        hub.openStreams === 1 &&
        members.every((m) => m.tab.crashed || m.client.status === 'closed' || m.client.status === 'open'),
      { timeoutMs: 5000, message },
    );
  const state = () =>
    members
      .map((m) => `${m.tab.id}:${m.tab.crashed ? 'crashed' : m.client.status}/${m.client.role}${m.tab.frozen ? '/frozen' : ''}` +
        ` [${m.client.topics}] at ${m.client.lastEventId} (${m.log.events.length})`)
      .join('; ') +
    ` | streams ${hub.openStreams}, last request ${JSON.stringify(hub.requests.at(-1))}` +
    ` | leader lock: ${[...browser.channels.keys()].map((name) => browser.locks.holder(`${name}:leader`)?.id)}`;
  /** waitFor, with the state of every tab in the message when it times out. */
  async function until(condition, options) {
    try {
      return await waitFor(condition, options);
    } catch (error) {
      throw new Error(`${error.message}: ${state()}`);
    }
  }
  return { hub, browser, join, members, leaders, settled, state, until };
}

test('one leader holds the only stream; each tab gets its own topics once, in order', async (t) => {
  const { hub, join, leaders, settled } = await setup(t);
  const a = join(['a']);
  const b = join(['b']);
  const ab = join(['a', 'b']);
  await settled();
  await waitFor(() => hub.requests.at(-1).topics.join() === 'a,b', { message: 'the union' });
  await settled();
  assert.equal(leaders().length, 1);
  await waitFor(() => [a, b, ab].every((m) => m.client.sharing.members === 3 && m.client.connectionId), {
    message: 'every tab knows the stream and its members',
  });
  assert.ok([a, b, ab].every((m) => m.client.sharing.leaderId === leaders()[0].client.sharing.memberId));
  for (let i = 0; i < 30; i++) hub.publish(i % 3 === 0 ? 'b' : 'a', { i });
  hub.publish('c', { ignored: true });
  await waitFor(() => ab.log.events.length === 30, { message: 'every event' });
  await waitFor(() => a.log.events.length === 20 && b.log.events.length === 10, { message: 'own topics' });
  await quiet(50);
  assert.deepEqual(a.ids(), hub.idsOf('a'));
  assert.deepEqual(b.ids(), hub.idsOf('b'));
  assert.deepEqual(ab.ids(), hub.idsOf('a', 'b'));
  assert.ok(a.log.events.every((e) => e.topic === 'a'));
  assert.deepEqual(a.log.events[0].data, { i: 1 });
  assert.equal(hub.openStreams, 1);
  for (const m of [a, b, ab]) assert.equal(m.client.lastEventId, hub.idsOf('a', 'b').at(-1));
});

for (const how of ['close', 'crash']) {
  test(`the leader's ${how} hands the stream over mid-stream: no gap, no duplicate`, async (t) => {
    const { hub, join, leaders, settled, members } = await setup(t);
    join(['a']);
    join(['a', 'b']);
    join(['b']);
    await settled();
    await waitFor(() => hub.requests.at(-1).topics.join() === 'a,b', { message: 'the union' });
    await settled();
    for (let i = 0; i < 10; i++) hub.publish(i % 2 ? 'a' : 'b', { i });
    const [old] = leaders();
    await waitFor(() => members.every((m) => m.client.lastEventId === hub.events.at(-1).id), { message: 'caught up' });
    const before = hub.requests.length;
    if (how === 'close') old.client.close();
    else old.tab.crash();
    for (let i = 10; i < 20; i++) hub.publish(i % 2 ? 'a' : 'b', { i }); // while no one holds the stream
    await settled('a new leader');
    assert.notEqual(leaders()[0], old);
    const resumed = hub.requests.slice(before).find((r) => r.lastEventId);
    assert.equal(resumed.lastEventId, hub.events[9].id, 'resumes from the last id the tabs saw');
    for (let i = 20; i < 30; i++) hub.publish(i % 2 ? 'a' : 'b', { i });
    const survivors = members.filter((m) => m !== old);
    await waitFor(() => survivors.every((m) => m.client.lastEventId === hub.events.at(-1).id), { message: `all delivered: ${survivors.map((m) => `${m.client.role} ${m.client.status} ${m.client.lastEventId} ${m.ids().length}`)} ${hub.openStreams} ${JSON.stringify(hub.requests)}` }).catch((e) => { throw new Error(`${e.message}: ${survivors.map((m) => `${m.client.role} ${m.client.status} ${m.client.lastEventId} ${m.ids().length}`)} streams=${hub.openStreams} ${JSON.stringify(hub.requests)}`); });
    await quiet(50);
    for (const m of survivors) assert.deepEqual(m.ids(), hub.idsOf(...m.client.topics), m.client.topics.join());
    assert.equal(hub.openStreams, 1);
  });
}

test('a tab whose answer to a new leader comes late, behind on events still in flight, misses nothing', async (t) => {
  const { hub, browser, join, settled, leaders, until } = await setup(t);
  const old = join(['a']);
  await settled();
  const fast = join(['a']);
  const late = join(['a']);
  await settled();
  hub.publish('a');
  await until(() => late.log.events.length === 1 && fast.log.events.length === 1, { message: 'first' });
  // What the old leader posts reaches `late` slowly, and so does what `late` says.
  browser.slow(old.tab, late.tab, 300);
  browser.slow(late.tab, fast.tab, 300);
  for (let i = 0; i < 5; i++) hub.publish('a', { i });
  await until(() => fast.log.events.length === 6, { message: 'the fast tab has them' });
  assert.equal(late.log.events.length, 1, 'the late tab is behind');
  old.tab.crash();
  await until(() => leaders().length === 1 && leaders()[0] === fast, { message: 'the fast tab leads' });
  hub.publish('a');
  await until(() => late.ids().length === hub.events.length && fast.ids().length === hub.events.length, {
    timeoutMs: 5000,
    message: 'both have every event',
  });
  await quiet(400); // nothing more arrives (the old leader's last posts are dropped)
  assert.deepEqual(fast.ids(), hub.idsOf('a'));
  assert.deepEqual(late.ids(), hub.idsOf('a'), 'the late tab got the events the old leader had in flight');
});

test('the union of topics follows tabs as they come, change topics and go; a crashed tab is dropped', async (t) => {
  const { hub, join, settled } = await setup(t);
  const first = join(['a']);
  await settled();
  assert.deepEqual(hub.requests.at(-1).topics, ['a']);
  hub.publish('a', { n: 1 });
  await waitFor(() => first.log.events.length === 1, { message: 'first event' });

  const second = join(['b']);
  await waitFor(() => hub.requests.at(-1).topics.join() === 'a,b', { message: 'a, b' });
  assert.equal(hub.requests.at(-1).lastEventId, hub.events[0].id, 'reconnects with its Last-Event-ID');
  await settled();
  const third = join(['c']);
  await waitFor(() => hub.requests.at(-1).topics.join() === 'a,b,c', { message: 'a, b, c' });
  await settled();

  second.client.setTopics(['b', 'd']);
  await waitFor(() => hub.requests.at(-1).topics.join() === 'a,b,c,d', { message: 'a, b, c, d' });
  await settled();
  second.client.close();
  await waitFor(() => hub.requests.at(-1).topics.join() === 'a,c', { message: 'a, c after a close' });
  await settled();
  third.tab.crash(); // no `leave`: the leader notices its member lock is gone
  await waitFor(() => hub.requests.at(-1).topics.join() === 'a', { message: 'a after a crash' });
  await settled();
  hub.publish('a', { n: 2 });
  await waitFor(() => first.log.events.length === 2, { message: 'still delivering' });
  assert.deepEqual(first.ids(), hub.idsOf('a'));
});

test('a tab that adds a topic receives it; the other tabs see no gap while the stream reconnects', async (t) => {
  const { hub, join, settled } = await setup(t);
  const x = join(['a']);
  const y = join(['a']);
  await settled();
  const publisher = setInterval(() => hub.publish('a', { at: Date.now() }), 2);
  t.after(() => clearInterval(publisher));
  await waitFor(() => x.log.events.length > 5, { message: 'events flowing' });
  y.client.setTopics(['a', 'n']);
  await waitFor(() => hub.requests.at(-1).topics.join() === 'a,n', { message: 'a, n' });
  const joinedAt = hub.events.length;
  hub.publish('n', { hello: true });
  await waitFor(() => y.log.events.some((e) => e.topic === 'n'), { message: 'the new topic' });
  clearInterval(publisher);
  const last = hub.publish('a', { last: true });
  await waitFor(() => x.client.lastEventId === last && y.client.lastEventId === last, { message: 'last' });
  assert.deepEqual(x.ids(), hub.idsOf('a'));
  assert.deepEqual(y.ids().filter((id) => hub.events.find((e) => e.id === id).topic === 'a'), hub.idsOf('a'));
  assert.ok(joinedAt > 5);
  assert.equal(x.log.events.filter((e) => e.topic === 'n').length, 0);
});

test('replay-truncated re-hydrates the tabs it concerns, with the id delivery continues from', async (t) => {
  const { hub, join, settled, leaders, members } = await setup(t, { replayLimit: 3 });
  join(['a']);
  join(['a']);
  await settled();
  hub.publish('a');
  await waitFor(() => members.every((m) => m.client.lastEventId === hub.events.at(-1).id), { message: 'caught up' });
  const [old] = leaders();
  old.tab.crash();
  for (let i = 0; i < 5; i++) hub.publish('a', { i }); // more than the replay limit
  await settled();
  const survivor = members.find((m) => m !== old);
  await waitFor(() => survivor.log.rehydrates.length === 1, { message: 're-hydrate' });
  const [r] = survivor.log.rehydrates;
  assert.equal(r.reason, 'replay-truncated:limit');
  assert.equal(r.resume.lastEventId, hub.events.at(-1).id);
  const next = hub.publish('a', { after: true });
  await waitFor(() => survivor.client.lastEventId === next, { message: 'live after the truncation' });
  assert.deepEqual(survivor.ids(), [hub.events[0].id, next]);
});

test('a tab that missed a store reset (its position is of another epoch) re-hydrates before new events', async (t) => {
  const { hub, join, settled, leaders, members, until } = await setup(t);
  join(['a']);
  join(['a']);
  await settled();
  hub.publish('a');
  await until(() => members.every((m) => m.log.events.length === 1), { message: 'first' });
  const away = members.find((m) => m !== leaders()[0]);
  away.tab.deaf = true; // misses what is posted meanwhile, the re-hydration among it
  hub.reset();
  await until(() => leaders()[0].log.rehydrates.length === 1, { message: 'the leader re-hydrated' });
  away.tab.deaf = false;
  const next = hub.publish('a');
  await until(() => away.client.lastEventId === next, { message: 'the new event' });
  assert.deepEqual(
    away.log.rehydrates.map((r) => r.reason),
    ['replay-truncated:unknown-id'],
    'not a silent switch to the new store',
  );
  assert.deepEqual(away.ids().slice(1), [next]);
});

test('recover(): a healthy shared stream re-hydrates only the asking tab, then delivers after its id', async (t) => {
  const { hub, join, settled } = await setup(t);
  const asking = join(['a']);
  const other = join(['a']);
  await settled();
  hub.publish('a');
  await waitFor(() => asking.log.events.length === 1 && other.log.events.length === 1, { message: 'first' });
  await asking.client.recover();
  assert.equal(asking.log.rehydrates.length, 1);
  assert.equal(asking.log.rehydrates[0].reason, 'recover');
  assert.equal(asking.log.rehydrates[0].resume.lastEventId, hub.events[0].id);
  hub.publish('a');
  await waitFor(() => asking.log.events.length === 2 && other.log.events.length === 2, { message: 'second' });
  assert.equal(other.log.rehydrates.length, 0);
  assert.equal(hub.openStreams, 1);
});

test('a leader that hangs is replaced after leaderTimeoutMs; once it runs again there is still one stream', async (t) => {
  const { hub, join, settled, leaders, members, until } = await setup(t);
  join(['a']);
  join(['a']);
  join(['a']);
  await settled();
  hub.publish('a');
  const [hung] = leaders();
  hung.tab.freeze();
  hub.publish('a');
  await until(() => leaders().some((m) => m !== hung), { timeoutMs: 5000, message: 'a new leader' });
  hub.publish('a');
  hung.tab.thaw();
  // Once it runs again it learns the lock was taken and drops its stream (it
  // may lead again later, through the lock queue like any member).
  await settled('one leader and one stream after the thaw');
  const last = hub.publish('a');
  await waitFor(() => members.every((m) => m.client.lastEventId === last), { message: 'everyone, the thawed tab too' });
  for (const m of members) assert.deepEqual(m.ids(), hub.idsOf('a'));
});

test('without Web Locks or BroadcastChannel (Node), shared: true is a stream of its own with the same API', async (t) => {
  const hub = await startFakeHub();
  const events = [];
  const client = new EventStreamClient({ url: hub.url('a'), shared: true, onEvent: (e) => events.push(e) });
  t.after(async () => {
    client.close();
    await hub.close();
  });
  assert.equal(client.role, 'single');
  client.connect();
  await waitFor(() => hub.openStreams === 1 && client.status === 'open', { message: 'open' });
  await waitFor(() => client.lastEventId === 'fk-0', { message: 'the position from ready' });
  const id = hub.publish('a');
  await waitFor(() => events.length === 1, { message: 'delivered' });
  assert.equal(events[0].id, id);
  assert.equal(events[0].topic, 'a');
});

/** mulberry32: a small seeded generator, so a failing schedule can be replayed. */
function random(seed) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let x = Math.imul(a ^ (a >>> 15), 1 | a);
    x = (x + Math.imul(x ^ (x >>> 7), 61 | x)) ^ x;
    return ((x ^ (x >>> 14)) >>> 0) / 4294967296;
  };
}

const seqOf = (id) => Number(id.split('-')[1]);

for (const jitterMs of [0, 40]) {
test(`random schedules of joins, topic changes, closes, crashes and hangs (channel jitter ${jitterMs} ms): every tab exactly once, in order`, async (t) => {
  const seed = Number(process.env.SSEHUB_SEED || Math.floor(Math.random() * 2 ** 31));
  t.diagnostic(`SSEHUB_SEED=${seed}`);
  const rand = random(seed);
  const pick = (list) => list[Math.floor(rand() * list.length)];
  const { hub, join, settled, leaders, members, state } = await setup(t, {}, { jitterMs, random: random(seed + 1) });
  const topics = ['a', 'b', 'c'];
  const stable = new Set(); // joined at the start, never changed topics: must get every event of theirs
  const witness = join(['a', 'b']);
  stable.add(witness);
  for (let i = 0; i < 3; i++) stable.add(join([pick(topics)]));
  await settled();
  const live = () => members.filter((m) => !m.tab.crashed && m.client.status !== 'closed');
  const steps = [];
  for (let step = 0; step < 40; step++) {
    const roll = rand();
    const victims = live().filter((m) => m !== witness);
    if (roll < 0.45) {
      const topic = pick(topics);
      const n = 1 + Math.floor(rand() * 4);
      for (let i = 0; i < n; i++) hub.publish(topic, { step });
      steps.push(`publish ${n} ${topic}`);
    } else if (roll < 0.55) {
      join([pick(topics)]);
      steps.push('join');
    } else if (roll < 0.65 && victims.length > 1) {
      const m = pick(victims);
      stable.delete(m);
      m.client.setTopics([pick(topics), pick(topics)]);
      steps.push('setTopics');
    } else if (roll < 0.8 && victims.length > 1) {
      const [leader] = leaders();
      const m = leader && leader !== witness && rand() < 0.7 ? leader : pick(victims);
      stable.delete(m);
      if (rand() < 0.5) m.client.close();
      else m.tab.crash();
      steps.push(m === leader ? 'leader gone' : 'member gone');
    } else if (roll < 0.85) {
      const [leader] = leaders();
      if (leader) {
        leader.tab.freeze();
        setTimeout(() => leader.tab.thaw(), 300 + rand() * 400);
        steps.push('leader hangs');
      }
    } else {
      await quiet(rand() * 30);
      steps.push('pause');
    }
    await quiet(rand() * 10);
  }
  for (const m of members) if (m.tab.frozen) m.tab.thaw();
  t.diagnostic(steps.join(', '));
  await settled('one leader at the end').catch((error) => {
    throw new Error(`${error.message} (seed ${seed}): ${state()}`);
  });
  for (const topic of topics) hub.publish(topic, { last: true });
  // A member's position moves with the events of the stream's topics (the
  // union), and with `ready` when the union changes.
  const last = seqOf(hub.idsOf(...new Set(live().flatMap((m) => m.client.topics))).at(-1));
  const position = (m) => (m.client.lastEventId ? seqOf(m.client.lastEventId) : 0);
  await waitFor(() => live().every((m) => position(m) >= last && position(m) === position(live()[0])), {
    timeoutMs: 5000,
    message: `every live tab at fk-${last} or later (seed ${seed})`,
  }).catch((error) => {
    throw new Error(`${error.message}: ${state()}`);
  });
  await quiet(30);
  for (const m of members) {
    const seqs = m.ids().map(seqOf);
    for (let i = 1; i < seqs.length; i++) assert.ok(seqs[i] > seqs[i - 1], `ids strictly increase (seed ${seed})`);
  }
  for (const m of stable) {
    if (m.tab.crashed || m.client.status === 'closed') continue;
    assert.deepEqual(m.ids(), hub.idsOf(...m.client.topics), `every event of ${m.client.topics} once (seed ${seed})`);
  }
  assert.equal(hub.openStreams, 1);
  assert.equal(leaders().length, 1);
});
}
