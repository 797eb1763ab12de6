// EventStreamClient: an EventSource replacement for ssehub streams that never
// leaves a page silently stale.
//
// Lifecycle (status):
//   idle --connect()--> connecting --response 200--> open
//   open/connecting --error, end of stream, heartbeat timeout--> reconnecting
//   reconnecting --backoff elapsed, attempt started--> (attempt) --> open | reconnecting
//   reconnecting --maxReconnectAttempts reached--> failed (lastEventId cleared)
//   failed/any --recover()--> connecting; onRehydrate('recover') once `ready` arrives
//   any --close()--> closed
//
// With `shared: true` (and Web Locks and BroadcastChannel present) the client
// is one member of a stream shared by every tab of the origin: see shared.js.
//
// Every connection attempt gets a generation number; callbacks from an
// attempt that has been superseded (by close(), recover() or a reconnect)
// are ignored, so at most one attempt is ever live.
//
// Delivery (onEvent, onRehydrate) runs through one promise chain: an event
// that arrives while onRehydrate's promise is pending is delivered after it
// settles, in arrival order.

import { DeliveryChain } from './delivery.js';
import { EventStreamParser } from './parser.js';
import { SharedStream, sharingFor } from './shared.js';
import { normalizeTopics, topicsOfUrl, urlWithTopics } from './topics.js';
import { backoffDelay } from './backoff.js';
import { HeartbeatMonitor, heartbeatTimeoutFor } from './heartbeat.js';

/** Heartbeat interval assumed until the server's `ready` event says otherwise. */
export const DEFAULT_HEARTBEAT_MS = 15000;
/** Time allowed for response headers before an attempt counts as failed. */
export const DEFAULT_CONNECT_TIMEOUT_MS = 30000;

/** The server answered with a non-2xx status (body `{"error","detail"}`). */
export class HttpStatusError extends Error {
  /**
   * @param {number} status
   * @param {{ error?: string, detail?: string } | null} body
   * @param {number | undefined} retryAfterMs
   */
  constructor(status, body, retryAfterMs) {
    const what = body && body.error ? `${body.error}${body.detail ? `: ${body.detail}` : ''}` : '';
    super(`HTTP ${status}${what ? ` (${what})` : ''}`);
    this.name = 'HttpStatusError';
    this.status = status;
    this.code = body && body.error ? body.error : undefined;
    this.detail = body && body.detail ? body.detail : undefined;
    this.retryAfterMs = retryAfterMs;
  }
}

/** The stream stopped for a reason other than an HTTP status. */
export class StreamError extends Error {
  /** @param {string} reason @param {string} message */
  constructor(reason, message) {
    super(message);
    this.name = 'StreamError';
    /** 'ended' | 'heartbeat-timeout' | 'connect-timeout' | 'token-expired' | 'bad-content-type' */
    this.reason = reason;
  }
}

const CONTROL_EVENTS = new Set(['ready', 'heartbeat', 'replay-truncated', 'replay-failed', 'token-expired']);

function parseJson(text) {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

function parseRetryAfter(value) {
  if (!value) return undefined;
  const seconds = Number(value);
  if (Number.isFinite(seconds) && seconds >= 0) return seconds * 1000;
  const date = Date.parse(value);
  if (Number.isFinite(date)) return Math.max(0, date - Date.now());
  return undefined;
}

async function httpError(response) {
  let body = null;
  try {
    body = parseJson(await response.text()) ?? null;
  } catch {
    body = null;
  }
  return new HttpStatusError(response.status, body, parseRetryAfter(response.headers.get('retry-after')));
}

function positiveNumber(value, name, fallback) {
  if (value === undefined) return fallback;
  if (typeof value !== 'number' || !Number.isFinite(value) || value < 0) {
    throw new TypeError(`EventStreamClient: ${name} must be a non-negative number`);
  }
  return value;
}

export class EventStreamClient {
  #url;
  #headers;
  #getToken;
  #baseDelayMs;
  #maxDelayMs;
  #maxReconnectAttempts;
  #heartbeatTimeoutMs;
  #connectTimeoutMs;
  #onEvent;
  #onRehydrate;
  #onStatus;
  #onError;
  #onPosition;
  #onReady;
  #fetch;
  /** @type {SharedStream | undefined} */
  #shared;

  #status = 'idle';
  #reconnectAttempts = 0;
  #lastEventId = '';
  #connectionId = undefined;
  #serverRetryMs = undefined;

  #generation = 0; // identifies the live attempt
  #isConnecting = false;
  #healthy = false; // the live connection has received an event
  /** @type {AbortController | undefined} */
  #controller;
  #reconnectTimer;
  #connectTimer;
  #monitor;
  #token = undefined;
  #needToken;
  #delivery = new DeliveryChain((error) => this.#reportError(error)); // reset by close()/recover()
  /** @type {{ promise: Promise<void>, resolve: () => void } | null} */
  #recovering = null; // recover() waits for `ready` to re-hydrate
  /** @type {EventStreamParser | undefined} */
  #parser;
  /** @type {(() => void) | null} */
  #detachListeners = null;

  /** @param {import('./index.js').EventStreamClientOptions} options */
  constructor(options) {
    if (!options || typeof options !== 'object') throw new TypeError('EventStreamClient: options are required');
    if (!options.url) throw new TypeError('EventStreamClient: url is required');
    this.#url = String(options.url);
    this.#headers = options.headers ?? {};
    this.#getToken = options.getToken;
    this.#baseDelayMs = positiveNumber(options.baseDelayMs, 'baseDelayMs', 1000);
    this.#maxDelayMs = positiveNumber(options.maxDelayMs, 'maxDelayMs', 30000);
    this.#maxReconnectAttempts = positiveNumber(options.maxReconnectAttempts, 'maxReconnectAttempts', 50);
    this.#heartbeatTimeoutMs = positiveNumber(options.heartbeatTimeoutMs, 'heartbeatTimeoutMs', undefined);
    this.#connectTimeoutMs = positiveNumber(options.connectTimeoutMs, 'connectTimeoutMs', DEFAULT_CONNECT_TIMEOUT_MS);
    this.#onEvent = options.onEvent ?? (() => {});
    this.#onRehydrate = options.onRehydrate ?? (() => {});
    this.#onStatus = options.onStatus ?? (() => {});
    this.#onError = options.onError;
    this.#onPosition = options.onPosition ?? (() => {});
    this.#onReady = options.onReady ?? (() => {});
    this.#fetch = options.fetch ?? ((input, init) => globalThis.fetch(input, init));
    if (options.lastEventId !== undefined) this.#lastEventId = String(options.lastEventId);
    const sharing = sharingFor(options.shared);
    if (sharing) {
      this.#shared = new SharedStream(options, sharing, (upstream) => new EventStreamClient(upstream));
      return;
    }
    this.#needToken = typeof this.#getToken === 'function';
    this.#monitor = new HeartbeatMonitor({
      timeoutMs: this.#heartbeatTimeoutMs ?? heartbeatTimeoutFor(DEFAULT_HEARTBEAT_MS),
      isConnecting: () => this.#isConnecting,
      onTimeout: () => {
        const error = new StreamError('heartbeat-timeout', `no data for ${this.#monitor.timeoutMs} ms`);
        this.#reportError(error);
        this.#reconnect(error);
      },
    });
  }

  /** 'idle' | 'connecting' | 'open' | 'reconnecting' | 'failed' | 'closed' */
  get status() {
    if (this.#shared) return this.#shared.status;
    return this.#status;
  }

  /** Reconnect attempts started since the last healthy connection. */
  get reconnectAttempts() {
    if (this.#shared) return this.#shared.reconnectAttempts;
    return this.#reconnectAttempts;
  }

  /** Id of the last event received ('' when none); sent as Last-Event-ID. */
  get lastEventId() {
    if (this.#shared) return this.#shared.lastEventId;
    return this.#lastEventId;
  }

  /** `connectionId` from the current connection's `ready` event. */
  get connectionId() {
    if (this.#shared) return this.#shared.connectionId;
    return this.#connectionId;
  }

  /** Last `retry:` value the server sent, in milliseconds. */
  get serverRetryMs() {
    if (this.#shared) return this.#shared.serverRetryMs;
    return this.#serverRetryMs;
  }

  /** Timeout currently used by the heartbeat monitor, in milliseconds. */
  get heartbeatTimeoutMs() {
    if (this.#shared) return this.#shared.heartbeatTimeoutMs;
    return this.#monitor.timeoutMs;
  }

  /** The topics this client receives (from the URL, or the last setTopics()). */
  get topics() {
    if (this.#shared) return this.#shared.topics;
    return topicsOfUrl(this.#url);
  }

  /**
   * 'single' (a stream of its own), or in a shared stream 'leader' (this tab
   * holds the stream) or 'follower'.
   */
  get role() {
    return this.#shared ? this.#shared.role : 'single';
  }

  /** For a shared stream: `{ memberId, leaderId, members }`; undefined otherwise. */
  get sharing() {
    return this.#shared?.sharing;
  }

  /** Open the stream. Does nothing unless the client is idle or closed. */
  connect() {
    if (this.#shared) return this.#shared.connect();
    if (this.#status !== 'idle' && this.#status !== 'closed') return;
    this.#reconnectAttempts = 0;
    this.#attachListeners();
    this.#setStatus('connecting');
    this.#startAttempt();
  }

  /** Stop the stream, all timers and the browser listeners. */
  close() {
    if (this.#shared) return this.#shared.close();
    this.#supersede();
    this.#delivery.reset();
    this.#endRecovery();
    this.#detach();
    this.#setStatus('closed');
  }

  /**
   * Receive `topics` from now on. An open stream reconnects at once with its
   * Last-Event-ID, so the replay fills what the switch would otherwise miss
   * (and brings a new topic's events since that id).
   * @param {string[]} topics
   */
  setTopics(topics) {
    const list = normalizeTopics(topics);
    if (list.length === 0) throw new TypeError('EventStreamClient: setTopics needs at least one topic');
    if (this.#shared) return this.#shared.setTopics(list);
    const url = urlWithTopics(this.#url, list);
    if (url === this.#url) return;
    this.#url = url;
    if (this.#status === 'idle' || this.#status === 'closed' || this.#status === 'failed') return;
    this.#supersede();
    this.#setStatus('connecting');
    this.#startAttempt();
  }

  /**
   * Start over: reset the reconnect state and connect at once; when the new
   * stream's `ready` arrives (it is then subscribed to every topic), await
   * onRehydrate('recover'), then deliver the events that arrived meanwhile.
   * Nothing published after the page re-read its state can be missed.
   * Concurrent calls share one recovery. Resolves once onRehydrate has settled
   * (or the client was closed or gave up first).
   * @returns {Promise<void>}
   */
  recover() {
    if (this.#shared) return this.#shared.recover();
    if (this.#recovering) return this.#recovering.promise;
    this.#supersede();
    this.#delivery.reset();
    this.#reconnectAttempts = 0;
    this.#lastEventId = '';
    this.#needToken = typeof this.#getToken === 'function';
    this.#attachListeners();
    this.#setStatus('connecting');
    let resolve;
    const promise = new Promise((r) => (resolve = r));
    this.#recovering = { promise, resolve };
    this.#startAttempt();
    return promise;
  }

  #endRecovery() {
    const recovering = this.#recovering;
    this.#recovering = null;
    recovering?.resolve();
  }

  // ---- connection attempts -------------------------------------------------

  #startAttempt() {
    const generation = ++this.#generation;
    const controller = new AbortController();
    this.#controller = controller;
    this.#isConnecting = true;
    this.#healthy = false;
    this.#connectionId = undefined;
    clearTimeout(this.#connectTimer);
    this.#connectTimer = setTimeout(() => {
      controller.abort(new StreamError('connect-timeout', `no response within ${this.#connectTimeoutMs} ms`));
    }, this.#connectTimeoutMs);
    this.#run(generation, controller).then(
      () => this.#attemptEnded(generation, new StreamError('ended', 'stream ended')),
      (error) => this.#attemptEnded(generation, controller.signal.aborted ? (controller.signal.reason ?? error) : error),
    );
  }

  async #run(generation, controller) {
    if (this.#needToken && this.#getToken) {
      const token = await this.#getToken();
      if (generation !== this.#generation) return;
      this.#token = token;
      this.#needToken = false;
    }
    const headers = new Headers(this.#headers);
    headers.set('Accept', 'text/event-stream');
    if (this.#token) headers.set('Authorization', `Bearer ${this.#token}`);
    if (this.#lastEventId) headers.set('Last-Event-ID', this.#lastEventId);
    const response = await this.#fetch(this.#url, {
      method: 'GET',
      headers,
      cache: 'no-store',
      signal: controller.signal,
    });
    if (generation !== this.#generation) {
      response.body?.cancel().catch(() => {});
      return;
    }
    clearTimeout(this.#connectTimer);
    if (!response.ok) {
      const error = await httpError(response);
      if (error.status === 401) this.#needToken = true;
      throw error;
    }
    const contentType = response.headers.get('content-type') ?? '';
    if (!contentType.toLowerCase().startsWith('text/event-stream') || !response.body) {
      response.body?.cancel().catch(() => {});
      throw new StreamError('bad-content-type', `expected text/event-stream, got '${contentType}'`);
    }

    this.#isConnecting = false;
    this.#setStatus('open');
    this.#monitor.touch();
    const parser = (this.#parser = new EventStreamParser({
      lastEventId: this.#lastEventId,
      onEvent: (event) => this.#handle(generation, event),
      onRetry: (ms) => {
        this.#serverRetryMs = ms;
      },
    }));
    const reader = response.body.getReader();
    try {
      for (;;) {
        const { done, value } = await reader.read();
        if (generation !== this.#generation) return;
        if (done) break;
        this.#monitor.touch(); // any bytes count as liveness
        parser.feed(value);
        if (generation !== this.#generation) return;
        this.#lastEventId = parser.lastEventId; // also covers id-only blocks
      }
      parser.end();
    } finally {
      reader.cancel().catch(() => {});
    }
  }

  #attemptEnded(generation, error) {
    if (generation !== this.#generation) return; // superseded: someone else owns the next step
    this.#reportError(error);
    this.#reconnect(error);
  }

  /** Drop the live attempt (if any) and schedule the next one, or give up. */
  #reconnect(error) {
    this.#supersede();
    if (this.#status === 'closed') return;
    if (this.#reconnectAttempts >= this.#maxReconnectAttempts) {
      this.#lastEventId = '';
      this.#endRecovery(); // nothing to re-hydrate against; the next recover() starts over
      this.#setStatus('failed', error);
      return;
    }
    let delay = backoffDelay(this.#reconnectAttempts, this.#baseDelayMs, this.#maxDelayMs);
    if (error instanceof HttpStatusError && error.retryAfterMs !== undefined) {
      delay = Math.min(this.#maxDelayMs, Math.max(delay, error.retryAfterMs));
    }
    this.#setStatus('reconnecting', error);
    const generation = this.#generation;
    this.#reconnectTimer = setTimeout(() => {
      this.#reconnectTimer = undefined;
      if (generation !== this.#generation) return;
      this.#reconnectAttempts++; // counted when the attempt really starts
      this.#startAttempt();
    }, delay);
  }

  /** Invalidate the live attempt and stop every timer. */
  #supersede() {
    this.#generation++;
    this.#monitor.stop();
    this.#isConnecting = false;
    clearTimeout(this.#connectTimer);
    clearTimeout(this.#reconnectTimer);
    this.#reconnectTimer = undefined;
    if (this.#controller) {
      this.#controller.abort(new StreamError('superseded', 'connection replaced'));
      this.#controller = undefined;
    }
  }

  // ---- events --------------------------------------------------------------

  #handle(generation, event) {
    if (generation !== this.#generation) return;
    this.#lastEventId = event.lastEventId;
    if (!this.#healthy) {
      this.#healthy = true;
      this.#reconnectAttempts = 0;
    }
    if (!CONTROL_EVENTS.has(event.type)) {
      const data = parseJson(event.data);
      const delivered = { id: event.lastEventId, type: event.type, data: data === undefined ? event.data : data };
      if (event.topic) delivered.topic = event.topic;
      this.#delivery.enqueue(() => this.#onEvent(delivered));
      return;
    }
    const info = parseJson(event.data);
    switch (event.type) {
      case 'ready': {
        this.#connectionId = info?.connectionId;
        const heartbeatMs = Number(info?.heartbeatMs);
        if (this.#heartbeatTimeoutMs === undefined && Number.isFinite(heartbeatMs) && heartbeatMs > 0) {
          this.#monitor.setTimeoutMs(heartbeatTimeoutFor(heartbeatMs));
        }
        // A stream that has seen no event yet resumes from where this one
        // started, so a reconnect misses nothing published after `ready`.
        if (!this.#lastEventId && typeof info?.lastId === 'string' && info.lastId) {
          this.#lastEventId = info.lastId;
          if (this.#parser) this.#parser.lastEventId = info.lastId;
          this.#notifyPosition(info.lastId);
        }
        try {
          this.#onReady(info ?? {});
        } catch (error) {
          this.#reportError(error);
        }
        if (this.#recovering) {
          const recovering = this.#recovering;
          this.#recovering = null;
          this.#enqueueRehydrate('recover', undefined).then(recovering.resolve);
        }
        break;
      }
      case 'heartbeat':
        break; // liveness only; the monitor was touched when the bytes arrived
      case 'replay-truncated':
      case 'replay-failed': {
        const reason = info && typeof info.reason === 'string' ? `${event.type}:${info.reason}` : event.type;
        this.#enqueueRehydrate(reason, info);
        break;
      }
      case 'token-expired':
        this.#needToken = typeof this.#getToken === 'function';
        this.#reconnect(new StreamError('token-expired', 'token expired'));
        break;
      default:
        break;
    }
  }


  /** onRehydrate(reason, info, { lastEventId }): delivery continues after that id. */
  #enqueueRehydrate(reason, info) {
    const resume = { lastEventId: this.#lastEventId };
    return this.#delivery.enqueue(() => this.#onRehydrate(reason, info, resume));
  }

  #notifyPosition(id) {
    try {
      this.#onPosition(id);
    } catch (error) {
      this.#reportError(error);
    }
  }

  // ---- status, errors, browser hooks ---------------------------------------

  #setStatus(status, error) {
    if (this.#status === status) return;
    this.#status = status;
    try {
      this.#onStatus(status, { reconnectAttempts: this.#reconnectAttempts, error });
    } catch (callbackError) {
      this.#reportError(callbackError);
    }
  }

  #reportError(error) {
    if (!this.#onError) return;
    try {
      this.#onError(error);
    } catch {
      // an onError that throws has nowhere left to report to
    }
  }

  #attachListeners() {
    if (this.#detachListeners) return;
    if (typeof window === 'undefined' || typeof window.addEventListener !== 'function') return;
    const win = window;
    const doc = typeof document !== 'undefined' && typeof document.addEventListener === 'function' ? document : undefined;
    const onOnline = () => {
      if (this.#status === 'failed') this.recover();
    };
    const onVisibility = () => {
      if (doc.visibilityState === 'visible' && this.#status === 'failed') this.recover();
    };
    win.addEventListener('online', onOnline);
    doc?.addEventListener('visibilitychange', onVisibility);
    this.#detachListeners = () => {
      win.removeEventListener('online', onOnline);
      doc?.removeEventListener('visibilitychange', onVisibility);
    };
  }

  #detach() {
    if (this.#detachListeners) this.#detachListeners();
    this.#detachListeners = null;
  }
}
