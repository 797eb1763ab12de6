// SharedStream: one ssehub stream per browser, shared by every tab of an
// origin that uses the same stream URL (topics aside).
//
// Every member (one per EventStreamClient with `shared`) joins a
// BroadcastChannel and queues for one Web Lock. The holder of the lock is the
// leader: it alone holds a stream, subscribed to the union of the members'
// topics, and posts what the stream brings to the channel. Each member keeps
// its own position (the last id the leader posted) and its own delivery
// chain, and delivers only its topics' events, only ids after its position:
// exactly once and in order, whichever leader posted them.
//
// Handover: a leader that closes, is frozen or hidden in the back/forward
// cache steps down; a tab that crashes loses its locks with it. The next
// member in the lock queue becomes leader, asks every member for its topics
// and position (`lead`), and resumes from the earliest position reported, so
// the replay fills the gap and members that are ahead skip what they had. A
// leader that stops answering (a hung tab) is replaced: a member that hears
// nothing from it for leaderTimeoutMs steals the lock.
//
// Messages carry the leader's term (one more than the last term its member
// saw); members ignore a leader whose term is older than the newest they saw.

import { DeliveryChain } from './delivery.js';
import { Leader } from './shared-leader.js';
import { epochOf, isAfter, normalizeTopics, sameEpoch, streamKey, topicsOfUrl } from './topics.js';

export const PROTOCOL = 1;
export const DEFAULT_SHARED_TIMINGS = Object.freeze({
  electionMs: 50, // a new leader waits this long for the members' answers to `lead`
  leaderHeartbeatMs: 5000, // a leader posts `alive` this often
  leaderTimeoutMs: 90000, // a member steals the lock after this much silence
  memberCheckMs: 5000, // a leader drops the topics of members whose tab is gone this often
});

/**
 * The sharing environment for the `shared` option, or null when the client
 * should hold a stream of its own (not asked for, or no Web Locks or
 * BroadcastChannel: Node, older browsers).
 */
export function sharingFor(shared, env = globalThis) {
  if (!shared) return null;
  const custom = typeof shared === 'object' ? shared : {};
  const locks = custom.locks ?? env.navigator?.locks;
  const Channel = custom.BroadcastChannel ?? env.BroadcastChannel;
  if (!locks || typeof locks.request !== 'function' || typeof Channel !== 'function') return null;
  const timings = { ...DEFAULT_SHARED_TIMINGS };
  for (const name of Object.keys(DEFAULT_SHARED_TIMINGS)) {
    const value = custom[name];
    if (value === undefined) continue;
    if (typeof value !== 'number' || !Number.isFinite(value) || value <= 0) {
      throw new TypeError(`EventStreamClient: shared.${name} must be a positive number`);
    }
    timings[name] = value;
  }
  return { locks, Channel, name: custom.name, window: custom.window ?? env.window, timings };
}

function randomId() {
  const bytes = new Uint8Array(9);
  globalThis.crypto.getRandomValues(bytes);
  return Array.from(bytes, (b) => b.toString(16).padStart(2, '0')).join('');
}

export class SharedStream {
  #id = randomId();
  #url;
  #topics;
  #options;
  #sharing;
  #makeUpstream;
  #name;
  #callbacks;

  #status = 'idle';
  #pos = ''; // the last id the leaders posted (an event's or a resume point)
  #term = 0; // the newest leader term seen
  #leaderId;
  #leaderHeardAt = 0;
  #askedFrom; // the leader start point this member asked a replay for
  #detail = {
    reconnectAttempts: 0,
    connectionId: undefined,
    serverRetryMs: undefined,
    heartbeatTimeoutMs: undefined,
    members: 0,
  };
  #delivery = new DeliveryChain((error) => this.#reportError(error));

  #channel;
  /** @type {Leader | null} */
  #leader = null;
  #stepDown; // resolves the leader lock's callback
  #lockRequest; // AbortController of the queued leader lock request
  #leadingBy; // the controller of the request that made this member leader
  #releaseMember;
  #watch;
  #paused = false;
  /** @type {Array<() => void>} */
  #recoveries = [];
  #detachListeners;

  constructor(options, sharing, makeUpstream) {
    this.#url = String(options.url);
    this.#topics = topicsOfUrl(this.#url);
    this.#options = options;
    this.#sharing = sharing;
    this.#makeUpstream = makeUpstream;
    this.#name = `ssehub:${sharing.name ?? streamKey(this.#url)}`;
    this.#callbacks = {
      onEvent: options.onEvent ?? (() => {}),
      onRehydrate: options.onRehydrate ?? (() => {}),
      onStatus: options.onStatus ?? (() => {}),
      onError: options.onError,
    };
    if (options.lastEventId !== undefined) this.#pos = String(options.lastEventId);
  }

  get status() {
    return this.#status;
  }
  get reconnectAttempts() {
    return this.#detail.reconnectAttempts;
  }
  get lastEventId() {
    return this.#pos;
  }
  get connectionId() {
    return this.#detail.connectionId;
  }
  get serverRetryMs() {
    return this.#detail.serverRetryMs;
  }
  get heartbeatTimeoutMs() {
    return this.#detail.heartbeatTimeoutMs;
  }
  get topics() {
    return [...this.#topics];
  }
  get role() {
    return this.#leader ? 'leader' : 'follower';
  }
  /** Who shares the stream: this member, the leader, how many members (diagnostics). */
  get sharing() {
    return { memberId: this.#id, leaderId: this.#leaderId, members: this.#detail.members };
  }

  connect() {
    if (this.#status !== 'idle' && this.#status !== 'closed') return;
    this.#delivery.reset();
    this.#channel = new this.#sharing.Channel(this.#name);
    this.#channel.onmessage = (message) => this.#receive(message.data);
    // Held while this member lives, so a leader can tell a crashed tab is gone.
    const channel = this.#channel;
    this.#sharing.locks
      .request(`${this.#name}:member:${this.#id}`, () =>
        this.#channel !== channel || this.#status === 'closed'
          ? undefined // closed before the lock came
          : new Promise((resolve) => (this.#releaseMember = resolve)),
      )
      .catch(() => {});
    this.#setStatus('connecting');
    this.#leaderHeardAt = Date.now();
    this.#attachListeners();
    this.#announce();
    this.#queueForLead();
    this.#watch = setInterval(() => this.#checkLeader(), Math.max(10, this.#sharing.timings.leaderTimeoutMs / 4));
  }

  close() {
    if (this.#status === 'closed' || this.#status === 'idle') {
      this.#status = 'closed';
      return;
    }
    this.#post({ k: 'leave' });
    this.#resign();
    this.#lockRequest?.abort();
    this.#releaseMember?.();
    this.#releaseMember = undefined;
    clearInterval(this.#watch);
    this.#detachListeners?.();
    this.#detachListeners = undefined;
    this.#channel.close();
    this.#delivery.reset();
    this.#settleRecoveries();
    this.#setStatus('closed');
  }

  setTopics(topics) {
    this.#topics = normalizeTopics(topics);
    if (this.#status === 'idle' || this.#status === 'closed') return;
    this.#post({ k: 'topics', topics: this.#topics });
  }

  /**
   * Re-hydrate this tab: if the shared stream is healthy the leader answers
   * with the position from which this tab's delivery continues; if it failed,
   * the leader recovers it and every tab re-hydrates.
   */
  recover() {
    if (this.#status === 'idle' || this.#status === 'closed') this.connect();
    const done = new Promise((resolve) => this.#recoveries.push(resolve));
    this.#post({ k: 'recover' });
    return done;
  }

  // ---- membership and leadership --------------------------------------------

  #announce() {
    this.#post({ k: 'join', topics: this.#topics, pos: this.#pos });
  }

  #queueForLead(steal = false) {
    if (this.#paused || this.#status === 'closed') return;
    this.#lockRequest?.abort();
    const controller = new AbortController();
    this.#lockRequest = controller;
    const options = steal ? { steal: true } : { signal: controller.signal };
    // Settles when the leadership this request brought ended (this member
    // stepped down, or the lock was stolen) or when it was cancelled (close,
    // freeze, or replaced by a steal).
    const ended = () => {
      if (this.#leadingBy === controller) this.#resign();
      if (this.#lockRequest !== controller) return;
      this.#lockRequest = undefined;
      if (!controller.signal.aborted) this.#queueForLead(); // still a member: queue again
    };
    this.#sharing.locks.request(`${this.#name}:leader`, options, () => this.#lead(controller)).then(ended, ended);
  }

  #lead(controller) {
    if (this.#paused || this.#status === 'closed' || this.#leader) return undefined; // let the next member have it
    this.#leadingBy = controller;
    const term = this.#term + 1;
    this.#term = term;
    this.#leaderId = this.#id;
    this.#leader = new Leader({
      term,
      self: { id: this.#id, topics: this.#topics, pos: this.#pos },
      url: this.#url,
      options: this.#options,
      timings: this.#sharing.timings,
      locks: this.#sharing.locks,
      memberLockPrefix: `${this.#name}:member:`,
      makeUpstream: this.#makeUpstream,
      send: (message) => this.#post(message),
      onError: (error) => this.#reportError(error),
    });
    this.#leader.start();
    return new Promise((resolve) => (this.#stepDown = resolve));
  }

  #resign() {
    if (!this.#leader) return;
    const leader = this.#leader;
    this.#leader = null;
    this.#leadingBy = undefined;
    leader.stop();
    this.#stepDown?.();
    this.#stepDown = undefined;
  }

  #checkLeader() {
    if (this.#leader || this.#paused || this.#status === 'closed') return;
    if (Date.now() - this.#leaderHeardAt < this.#sharing.timings.leaderTimeoutMs) return;
    this.#leaderHeardAt = Date.now();
    this.#queueForLead(true); // the leader holds the lock but says nothing: take it
  }

  #pause() {
    if (this.#paused || this.#status === 'closed') return;
    this.#paused = true;
    this.#resign();
    this.#lockRequest?.abort();
    this.#lockRequest = undefined;
  }

  #resume() {
    if (!this.#paused || this.#status === 'closed') return;
    this.#paused = false;
    this.#leaderHeardAt = Date.now();
    this.#announce();
    this.#queueForLead();
  }

  // ---- messages --------------------------------------------------------------

  /** Posts to the other members, and hands it to this member's own leader or follower side. */
  #post(body) {
    if (this.#status === 'closed' || !this.#channel) return;
    const message = { v: PROTOCOL, from: this.#id, ...body };
    this.#receive(message);
    try {
      this.#channel.postMessage(message);
    } catch (error) {
      this.#reportError(error);
    }
  }

  #receive(message) {
    if (!message || message.v !== PROTOCOL || this.#status === 'closed') return;
    switch (message.k) {
      case 'join':
      case 'topics':
      case 'leave':
      case 'recover':
        this.#leader?.onMember(message);
        return;
      default:
        this.#fromLeader(message);
    }
  }

  #fromLeader(message) {
    if (typeof message.term !== 'number' || message.term < this.#term) return; // a deposed leader
    if (message.term > this.#term || message.from !== this.#leaderId) {
      this.#term = message.term;
      this.#leaderId = message.from;
      if (this.#leader && message.from !== this.#id) this.#resign(); // a newer leader took the lock
    }
    this.#leaderHeardAt = Date.now();
    switch (message.k) {
      case 'lead':
        if (message.from !== this.#id) this.#announce();
        if (this.#recoveries.length && message.from !== this.#id) this.#post({ k: 'recover' });
        break;
      case 'event':
        if (!isAfter(message.id, this.#pos)) return; // already delivered (a new leader's replay)
        if (this.#uncovered(message.cov)) return;
        this.#pos = message.id;
        if (message.topic && !this.#topics.includes(message.topic)) return;
        this.#deliverEvent(message);
        break;
      case 'pos':
        if (isAfter(message.pos, this.#pos) && !this.#uncovered(message.cov)) this.#pos = message.pos;
        break;
      case 'rehydrate':
        this.#rehydrate(message);
        break;
      case 'status':
        if (message.status === 'closed' || message.status === 'idle') break; // only this tab closes itself
        this.#detail = {
          reconnectAttempts: message.reconnectAttempts,
          connectionId: message.connectionId,
          serverRetryMs: message.serverRetryMs,
          heartbeatTimeoutMs: message.heartbeatTimeoutMs,
          members: message.members,
        };
        this.#setStatus(message.status, message.error);
        break;
      case 'resign':
        if (this.#status === 'open') this.#setStatus('reconnecting');
        break;
      default:
        break; // 'alive'
    }
  }

  /**
   * Whether the leader's stream starts after this member's position (it would
   * skip events): then the member takes nothing from it and tells it where it
   * is, once per starting point, and the leader replays from there.
   */
  #uncovered(cov) {
    if (!cov || !this.#pos) return false;
    const mine = epochOf(this.#pos);
    const theirs = epochOf(cov);
    if (mine && theirs && mine !== theirs) {
      // The store was replaced while this member heard nothing (the leader's
      // re-hydration among what it missed): what it lacks cannot be replayed.
      const requestedAfter = this.#pos;
      this.#pos = cov;
      const resume = { lastEventId: cov };
      const info = { reason: 'unknown-id', requestedAfter };
      this.#delivery.enqueue(() => this.#callbacks.onRehydrate('replay-truncated:unknown-id', info, resume));
      return false; // delivery goes on after `cov`, where this leader's stream is complete
    }
    if (!sameEpoch(cov, this.#pos) || !isAfter(cov, this.#pos)) return false;
    if (this.#askedFrom !== cov) {
      this.#askedFrom = cov;
      this.#announce();
    }
    return true;
  }

  #deliverEvent(message) {
    const event = { id: message.id, type: message.type, data: message.data };
    if (message.topic) event.topic = message.topic;
    this.#delivery.enqueue(() => this.#callbacks.onEvent(event));
  }

  #rehydrate(message) {
    if (message.to && message.to !== this.#id) return;
    const truncated = message.reason.startsWith('replay-truncated');
    // A truncation that ends where this member already is concerns nothing it missed.
    if (truncated && message.pos && !isAfter(message.pos, this.#pos)) return;
    if (message.pos && (truncated || message.reason === 'recover') && isAfter(message.pos, this.#pos)) {
      this.#pos = message.pos;
    }
    const resume = { lastEventId: this.#pos };
    const recovering = message.reason === 'recover' ? this.#recoveries.splice(0) : [];
    this.#delivery.enqueue(() => this.#callbacks.onRehydrate(message.reason, message.info, resume)).then(() => {
      for (const resolve of recovering) resolve();
    });
  }


  #settleRecoveries() {
    for (const resolve of this.#recoveries.splice(0)) resolve();
  }

  #setStatus(status, error) {
    if (this.#status === status) return;
    this.#status = status;
    if (status === 'failed') this.#settleRecoveries();
    try {
      this.#callbacks.onStatus(status, { reconnectAttempts: this.#detail.reconnectAttempts, error });
    } catch (callbackError) {
      this.#reportError(callbackError);
    }
  }

  #reportError(error) {
    if (!this.#callbacks.onError) return;
    try {
      this.#callbacks.onError(error);
    } catch {
      // nowhere left to report to
    }
  }

  #attachListeners() {
    const win = this.#sharing.window;
    if (this.#detachListeners || !win || typeof win.addEventListener !== 'function') return;
    const doc = win.document;
    const recoverIfFailed = () => {
      if (this.#status === 'failed' && (!doc || doc.visibilityState !== 'hidden')) this.recover();
    };
    const pause = () => this.#pause();
    const resume = () => this.#resume();
    const onPageShow = (event) => event.persisted && resume();
    win.addEventListener('online', recoverIfFailed);
    win.addEventListener('pagehide', pause);
    win.addEventListener('pageshow', onPageShow);
    doc?.addEventListener?.('visibilitychange', recoverIfFailed);
    doc?.addEventListener?.('freeze', pause);
    doc?.addEventListener?.('resume', resume);
    this.#detachListeners = () => {
      win.removeEventListener('online', recoverIfFailed);
      win.removeEventListener('pagehide', pause);
      win.removeEventListener('pageshow', onPageShow);
      doc?.removeEventListener?.('visibilitychange', recoverIfFailed);
      doc?.removeEventListener?.('freeze', pause);
      doc?.removeEventListener?.('resume', resume);
    };
  }
}

