// EventStreamClient: an EventSource replacement for ssehub streams that never
// leaves a page silently stale.
//
// Lifecycle (status):
//   idle --connect()--> connecting --response 200--> open
//   open/connecting --error, end of stream, heartbeat timeout--> reconnecting
//   reconnecting --backoff elapsed, attempt started--> (attempt) --> open | reconnecting
//   reconnecting --maxReconnectAttempts reached--> failed (lastEventId cleared)
//   failed/any --recover()--> connecting (after onRehydrate('recover'))
//   any --close()--> closed
//
// Every connection attempt gets a generation number; callbacks from an
// attempt that has been superseded (by close(), recover() or a reconnect)
// are ignored, so at most one attempt is ever live.
//
// Delivery (onEvent, onRehydrate) runs through one promise chain: an event
// that arrives while onRehydrate's promise is pending is delivered after it
// settles, in arrival order.

import { EventStreamParser } from './parser.js';
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
  #fetch;

  #status = 'idle';
  #reconnectAttempts = 0;
  #lastEventId = '';
  #connectionId = undefined;
  #serverRetryMs = undefined;

  #generation = 0; // identifies the live attempt
  #session = 0; // bumps on close()/recover(): pending deliveries are dropped
  #isConnecting = false;
  #healthy = false; // the live connection has received an event
  /** @type {AbortController | undefined} */
  #controller;
  #reconnectTimer;
  #connectTimer;
  #monitor;
  #token = undefined;
  #needToken;
  #delivery = Promise.resolve();
  /** @type {Promise<void> | null} */
  #recovering = null;
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
    this.#fetch = options.fetch ?? ((input, init) => globalThis.fetch(input, init));
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
    return this.#status;
  }

  /** Reconnect attempts started since the last healthy connection. */
  get reconnectAttempts() {
    return this.#reconnectAttempts;
  }

  /** Id of the last event received ('' when none); sent as Last-Event-ID. */
  get lastEventId() {
    return this.#lastEventId;
  }

  /** `connectionId` from the current connection's `ready` event. */
  get connectionId() {
    return this.#connectionId;
  }

  /** Last `retry:` value the server sent, in milliseconds. */
  get serverRetryMs() {
    return this.#serverRetryMs;
  }

  /** Timeout currently used by the heartbeat monitor, in milliseconds. */
  get heartbeatTimeoutMs() {
    return this.#monitor.timeoutMs;
  }

  /** Open the stream. Does nothing unless the client is idle or closed. */
  connect() {
    if (this.#status !== 'idle' && this.#status !== 'closed') return;
    this.#reconnectAttempts = 0;
    this.#attachListeners();
    this.#setStatus('connecting');
    this.#startAttempt();
  }

  /** Stop the stream, all timers and the browser listeners. */
  close() {
    this.#supersede();
    this.#session++;
    this.#recovering = null;
    this.#detach();
    this.#setStatus('closed');
  }

  /**
   * Start over: reset the reconnect state, await onRehydrate('recover'), then
   * connect. Concurrent calls share one recovery. Resolves once the new
   * connection attempt has started.
   * @returns {Promise<void>}
   */
  recover() {
    if (this.#recovering) return this.#recovering;
    this.#supersede();
    this.#session++;
    this.#reconnectAttempts = 0;
    this.#lastEventId = '';
    this.#needToken = typeof this.#getToken === 'function';
    this.#attachListeners();
    this.#setStatus('connecting');
    const generation = this.#generation;
    const recovering = this.#enqueueRehydrate('recover', undefined)
      .then(() => {
        if (generation !== this.#generation || this.#status === 'closed') return;
        this.#startAttempt();
      })
      .finally(() => {
        if (this.#recovering === recovering) this.#recovering = null;
      });
    this.#recovering = recovering;
    return recovering;
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
    const parser = new EventStreamParser({
      lastEventId: this.#lastEventId,
      onEvent: (event) => this.#handle(generation, event),
      onRetry: (ms) => {
        this.#serverRetryMs = ms;
      },
    });
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
      this.#enqueue(() => this.#onEvent(delivered));
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

  /** Queue a delivery step behind every earlier one (same session only). */
  #enqueue(step) {
    const session = this.#session;
    this.#delivery = this.#delivery
      .then(() => (session === this.#session ? step() : undefined))
      .catch((error) => this.#reportError(error));
    return this.#delivery;
  }

  #enqueueRehydrate(reason, info) {
    return this.#enqueue(() => this.#onRehydrate(reason, info));
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
