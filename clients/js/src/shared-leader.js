// Leader: the side of a shared-stream member that holds the stream while the
// member holds the leader lock (see shared.js).
//
// It keeps the roster (each member's topics and reported position), opens one
// upstream EventStreamClient on the union of the topics, and posts everything
// the upstream brings, in the upstream's order: events (with their topic),
// position moves, re-hydrations, status. A roster change that changes the
// union makes the upstream reconnect with its Last-Event-ID.
//
// Every event after `#coveredFrom` has been posted, and events say so (`cov`).
// A member behind it (its answer to `lead` came after the election window,
// while the old leader's last events were still on their way to it, and it
// ignores them once it has seen this leader's term) takes nothing from this
// leader and reports its position again; the upstream then starts over from
// there: the others skip the replay, and it gets what it lacks, in order.

import { earliestPosition, isAfter, sameEpoch, unionTopics, urlWithTopics } from './topics.js';

function describeError(error) {
  if (error === undefined || error === null) return undefined;
  return {
    name: error.name,
    message: String(error.message ?? error),
    status: error.status,
    reason: error.reason,
    code: error.code,
  };
}

export class Leader {
  #term;
  #selfId;
  #url;
  #options;
  #timings;
  #locks;
  #memberLockPrefix;
  #makeUpstream;
  #send;
  #onError;
  /** @type {Map<string, { topics: string[], pos: string }>} */
  #roster = new Map();
  #upstream;
  #union = [];
  #openTimer;
  #aliveTimer;
  #checkTimer;
  #stopped = false;
  #opened = false; // the election window is over
  #coveredFrom = ''; // every event after this position has been posted
  /** @type {Set<string>} */
  #recoverWhenOpen = new Set();

  constructor({ term, self, url, options, timings, locks, memberLockPrefix, makeUpstream, send, onError }) {
    this.#term = term;
    this.#selfId = self.id;
    this.#roster.set(self.id, { topics: self.topics, pos: self.pos });
    this.#url = url;
    this.#options = options;
    this.#timings = timings;
    this.#locks = locks;
    this.#memberLockPrefix = memberLockPrefix;
    this.#makeUpstream = makeUpstream;
    this.#send = send;
    this.#onError = onError;
  }

  start() {
    this.#post({ k: 'lead' });
    this.#openTimer = setTimeout(() => this.#open(), this.#timings.electionMs);
    this.#aliveTimer = setInterval(() => this.#post({ k: 'alive' }), this.#timings.leaderHeartbeatMs);
    if (typeof this.#locks.query === 'function') {
      this.#checkTimer = setInterval(() => this.#dropGoneMembers(), this.#timings.memberCheckMs);
    }
  }

  stop() {
    if (this.#stopped) return;
    this.#stopped = true;
    clearTimeout(this.#openTimer);
    clearInterval(this.#aliveTimer);
    clearInterval(this.#checkTimer);
    this.#upstream?.close();
    this.#upstream = undefined;
    this.#post({ k: 'resign' });
  }

  /** join / topics / leave / recover from a member (this leader's own included). */
  onMember(message) {
    if (this.#stopped) return;
    switch (message.k) {
      case 'join':
        this.#roster.set(message.from, { topics: message.topics ?? [], pos: message.pos ?? '' });
        if (this.#upstream && this.#isBehind(message.pos)) return this.#rewind(message.pos);
        break;
      case 'topics': {
        const member = this.#roster.get(message.from);
        this.#roster.set(message.from, { topics: message.topics ?? [], pos: member?.pos ?? '' });
        break;
      }
      case 'leave':
        this.#roster.delete(message.from);
        break;
      case 'recover':
        this.#recover(message.from);
        return;
      default:
        return;
    }
    if (this.#opened) this.#retopic();
    this.#postState(); // members that just came need it; the others see the roster size
  }

  // ---- the upstream ----------------------------------------------------------

  #open() {
    if (this.#stopped || this.#upstream) return;
    this.#opened = true;
    this.#union = this.#wantedTopics();
    if (this.#union.length === 0) return; // opened when a member wants a topic
    // Resume from the earliest position any member reported: members that are
    // ahead skip what they already have, none misses anything.
    this.#connect(earliestPosition([...this.#roster.values()].map((member) => member.pos)));
  }

  #isBehind(pos) {
    const covered = this.#coveredFrom;
    return Boolean(pos && covered) && sameEpoch(pos, covered) && isAfter(covered, pos);
  }

  #rewind(pos) {
    this.#upstream.close();
    this.#upstream = undefined;
    this.#union = this.#wantedTopics();
    this.#connect(pos);
    this.#postState();
  }

  #connect(start) {
    this.#coveredFrom = start;
    const options = this.#options;
    const upstream = this.#makeUpstream({
      url: urlWithTopics(this.#url, this.#union),
      lastEventId: start,
      headers: options.headers,
      getToken: options.getToken,
      baseDelayMs: options.baseDelayMs,
      maxDelayMs: options.maxDelayMs,
      maxReconnectAttempts: options.maxReconnectAttempts,
      heartbeatTimeoutMs: options.heartbeatTimeoutMs,
      connectTimeoutMs: options.connectTimeoutMs,
      fetch: options.fetch,
      onEvent: (event) =>
        this.#post({ k: 'event', id: event.id, type: event.type, topic: event.topic, data: event.data, cov: this.#coveredFrom }),
      onPosition: (pos) => {
        if (!this.#coveredFrom) this.#coveredFrom = pos;
        this.#post({ k: 'pos', pos, cov: this.#coveredFrom });
      },
      onRehydrate: (reason, info, resume) => {
        const pos = resume?.lastEventId ?? '';
        // What the server could not replay is a gap for anyone behind its end.
        if (reason.startsWith('replay-truncated') && pos) this.#coveredFrom = pos;
        this.#post({ k: 'rehydrate', reason, info, pos });
      },
      onStatus: (status, detail) => this.#postStatus(status, detail),
      onReady: () => this.#postState(),
      onError: (error) => this.#onError(error),
    });
    this.#upstream = upstream;
    upstream.connect();
    // Asked to recover before the stream existed: delivery starts at `start`.
    for (const to of this.#recoverWhenOpen) this.#post({ k: 'rehydrate', reason: 'recover', to, pos: start });
    this.#recoverWhenOpen.clear();
  }

  #postState() {
    if (this.#upstream) this.#postStatus(this.#upstream.status, { reconnectAttempts: this.#upstream.reconnectAttempts });
  }

  #postStatus(status, detail) {
    if (this.#stopped || status === 'closed') return; // a leader stepping down is not the stream closing
    const upstream = this.#upstream;
    this.#post({
      k: 'status',
      status,
      error: describeError(detail?.error),
      reconnectAttempts: detail?.reconnectAttempts ?? 0,
      connectionId: upstream?.connectionId,
      serverRetryMs: upstream?.serverRetryMs,
      heartbeatTimeoutMs: upstream?.heartbeatTimeoutMs,
      members: this.#roster.size,
    });
  }

  #wantedTopics() {
    return unionTopics([...this.#roster.values()].map((member) => member.topics));
  }

  #retopic() {
    const union = this.#wantedTopics();
    if (union.join('\n') === this.#union.join('\n')) return;
    this.#union = union;
    if (union.length === 0) return; // keep the old stream until someone wants a topic again
    if (!this.#upstream) return this.#open();
    this.#upstream.setTopics(union);
  }

  #recover(memberId) {
    const upstream = this.#upstream;
    if (!upstream) {
      this.#recoverWhenOpen.add(memberId);
      return;
    }
    if (upstream.status === 'failed' || upstream.status === 'closed') {
      this.#coveredFrom = ''; // set again by the new `ready`
      upstream.recover(); // start over: every member re-hydrates on the new `ready`
      return;
    }
    // The stream is fine: only this member re-reads, and its delivery goes on
    // after the position the upstream has reached.
    this.#post({ k: 'rehydrate', reason: 'recover', to: memberId, pos: upstream.lastEventId });
  }

  async #dropGoneMembers() {
    let snapshot;
    try {
      snapshot = await this.#locks.query();
    } catch {
      return;
    }
    if (this.#stopped) return;
    const alive = new Set((snapshot?.held ?? []).map((lock) => lock.name));
    let changed = false;
    for (const id of [...this.#roster.keys()]) {
      if (id === this.#selfId || alive.has(`${this.#memberLockPrefix}${id}`)) continue;
      this.#roster.delete(id); // its tab is gone (a crash sends no `leave`)
      changed = true;
    }
    if (changed && this.#opened) this.#retopic();
    if (changed) this.#postState();
  }

  #post(body) {
    this.#send({ term: this.#term, ...body });
  }
}
