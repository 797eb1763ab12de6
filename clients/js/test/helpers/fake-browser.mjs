// Fake Web Locks and BroadcastChannel for unit tests of the shared stream: one
// FakeBrowser holds the locks and channels of several tabs. A tab can crash
// (its locks are released, its channels and fetches die with it) or freeze
// (its channel messages wait, in order, until it thaws). With `jitterMs` each
// message takes a random time to arrive, in order from one sender to one
// receiver but in any order across senders, as between real tabs.

function abortError(message) {
  const error = new Error(message);
  error.name = 'AbortError';
  return error;
}

class FakeLockManager {
  /** @type {Map<string, object>} name -> granted request */
  #held = new Map();
  /** @type {Map<string, object[]>} name -> queued requests */
  #queues = new Map();

  request(tab, name, options, callback) {
    if (typeof options === 'function') {
      callback = options;
      options = {};
    }
    return new Promise((resolve, reject) => {
      if (tab.crashed) return; // a crashed tab runs nothing: its request never settles
      const req = { tab, name, callback, resolve, reject, done: false };
      if (options.steal) {
        const current = this.#held.get(name);
        if (current) {
          this.#held.delete(name);
          current.done = true;
          current.tab.run(() => current.reject(abortError('lock stolen')));
        }
        this.#grant(req);
        return;
      }
      if (options.signal) {
        if (options.signal.aborted) return reject(abortError('aborted'));
        options.signal.addEventListener('abort', () => {
          const queue = this.#queues.get(name) ?? [];
          const index = queue.indexOf(req);
          if (index === -1) return; // granted already: aborting does nothing
          queue.splice(index, 1);
          req.done = true;
          reject(abortError('aborted'));
        });
      }
      const queue = this.#queues.get(name) ?? [];
      queue.push(req);
      this.#queues.set(name, queue);
      this.#pump(name);
    });
  }

  query() {
    const held = [...this.#held.values()].map((r) => ({ name: r.name, clientId: r.tab.id, mode: 'exclusive' }));
    const pending = [...this.#queues.values()].flat().map((r) => ({ name: r.name, clientId: r.tab.id, mode: 'exclusive' }));
    return Promise.resolve({ held, pending });
  }

  holder(name) {
    return this.#held.get(name)?.tab;
  }

  crash(tab) {
    for (const [name, req] of [...this.#held]) {
      if (req.tab !== tab) continue;
      this.#held.delete(name);
      req.done = true; // its promise never settles: the tab is gone
    }
    for (const [name, queue] of this.#queues) {
      this.#queues.set(
        name,
        queue.filter((r) => r.tab !== tab),
      );
    }
    for (const name of new Set([...this.#queues.keys()])) this.#pump(name);
  }

  #pump(name) {
    if (this.#held.has(name)) return;
    const queue = this.#queues.get(name) ?? [];
    const next = queue.shift();
    if (next) this.#grant(next);
  }

  #grant(req) {
    this.#held.set(req.name, req);
    const release = (settle) => {
      if (req.done) return;
      req.done = true;
      if (this.#held.get(req.name) === req) {
        this.#held.delete(req.name);
        this.#pump(req.name);
      }
      settle();
    };
    req.tab.run(() =>
      Promise.resolve()
        .then(() => req.callback({ name: req.name, mode: 'exclusive' }))
        .then(
          (value) => release(() => req.resolve(value)),
          (error) => release(() => req.reject(error)),
        ),
    );
  }
}

export class FakeBrowser {
  locks = new FakeLockManager();
  /** @type {Map<string, Set<object>>} */
  channels = new Map();
  #nextTab = 1;
  #jitterMs;
  #random;
  /** @type {Map<object, Map<object, { queue: object[], timer: any }>>} messages on their way, per pair */
  #links = new Map();

  /** @type {Map<object, Map<object, number>>} extra delay from one tab to another */
  #slow = new Map();

  constructor({ jitterMs = 0, random = Math.random } = {}) {
    this.#jitterMs = jitterMs;
    this.#random = random;
  }

  /** Messages from tab `from` to tab `to` take `ms` longer from now on. */
  slow(from, to, ms) {
    const links = this.#slow.get(from) ?? new Map();
    links.set(to, ms);
    this.#slow.set(from, links);
  }

  /** Hands `deliver` to the link from `from` to `to`: FIFO per pair, after a random delay. */
  send(from, to, deliver) {
    const pairs = this.#links.get(from) ?? new Map();
    this.#links.set(from, pairs);
    const link = pairs.get(to) ?? { queue: [], timer: undefined };
    pairs.set(to, link);
    const last = link.queue.at(-1)?.at ?? 0;
    const extra = this.#slow.get(from.tab)?.get(to.tab) ?? 0;
    link.queue.push({ at: Math.max(Date.now() + extra + this.#random() * this.#jitterMs, last), deliver });
    this.#drain(link);
  }

  #drain(link) {
    if (link.timer !== undefined || link.queue.length === 0) return;
    link.timer = setTimeout(() => {
      link.timer = undefined;
      while (link.queue.length && link.queue[0].at <= Date.now()) link.queue.shift().deliver();
      this.#drain(link);
    }, Math.max(0, link.queue[0].at - Date.now()));
  }

  /** A new tab: pass `tab.shared` as the client's `shared` option and `tab.fetch` as `fetch`. */
  tab() {
    const browser = this;
    const tab = {
      id: `tab-${this.#nextTab++}`,
      crashed: false,
      frozen: false,
      held: [], // work that waits for a thaw
      controllers: new Set(),
      run(fn) {
        if (tab.crashed) return;
        if (tab.frozen) tab.held.push(fn);
        else fn();
      },
      crash() {
        tab.crashed = true;
        for (const channel of [...browser.channels.values()].flatMap((set) => [...set])) {
          if (channel.tab === tab) channel.close();
        }
        for (const controller of tab.controllers) controller.abort(new Error('tab crashed'));
        browser.locks.crash(tab);
      },
      freeze() {
        tab.frozen = true;
      },
      /** Messages to this tab are lost until `deaf` is false again. */
      deaf: false,
      thaw() {
        tab.frozen = false;
        for (const fn of tab.held.splice(0)) fn();
      },
      fetch(input, init = {}) {
        if (tab.crashed) return Promise.reject(new TypeError('tab crashed'));
        const controller = new AbortController();
        tab.controllers.add(controller);
        init.signal?.addEventListener('abort', () => controller.abort(init.signal.reason));
        return fetch(input, { ...init, signal: controller.signal });
      },
    };
    class Channel {
      constructor(name) {
        this.name = name;
        this.tab = tab;
        this.onmessage = null;
        this.closed = false;
        const set = browser.channels.get(name) ?? new Set();
        set.add(this);
        browser.channels.set(name, set);
      }
      postMessage(message) {
        if (this.closed) throw new Error('InvalidStateError: channel closed');
        const data = structuredClone(message);
        const from = this.tab;
        const send = () => {
          for (const peer of browser.channels.get(this.name) ?? []) {
            if (peer === this || peer.closed) continue;
            browser.send(this, peer, () => peer.tab.run(() => !peer.closed && !peer.tab.deaf && peer.onmessage?.({ data })));
          }
        };
        from.run(send); // a frozen tab's messages leave when it thaws
      }
      close() {
        this.closed = true;
        browser.channels.get(this.name)?.delete(this);
      }
    }
    tab.locksView = {
      request: (name, options, callback) => browser.locks.request(tab, name, options, callback),
      query: () => browser.locks.query(),
    };
    tab.Channel = Channel;
    tab.shared = (timings = {}) => ({ locks: tab.locksView, BroadcastChannel: Channel, ...timings });
    return tab;
  }
}
