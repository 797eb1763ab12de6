// Liveness watchdog for one stream. `touch()` (any received bytes) re-arms
// it; when nothing arrives for `timeoutMs` it calls `onTimeout`, unless a
// connection attempt is already under way (`isConnecting()`), in which case
// it does nothing: that attempt owns the reconnect and re-arms the monitor
// once its connection is open. Before calling `onTimeout` the monitor stops
// itself, so one silent period produces at most one reconnect.

export const HEARTBEAT_MARGIN_MS = 1000;

/** Timeout derived from the server's announced heartbeat interval. */
export function heartbeatTimeoutFor(heartbeatMs) {
  return 2 * heartbeatMs + HEARTBEAT_MARGIN_MS;
}

export class HeartbeatMonitor {
  #timeoutMs;
  #isConnecting;
  #onTimeout;
  /** @type {ReturnType<typeof setTimeout> | undefined} */
  #timer;

  /**
   * @param {object} options
   * @param {number} options.timeoutMs
   * @param {() => boolean} options.isConnecting
   * @param {() => void} options.onTimeout
   */
  constructor({ timeoutMs, isConnecting, onTimeout }) {
    this.#timeoutMs = timeoutMs;
    this.#isConnecting = isConnecting;
    this.#onTimeout = onTimeout;
  }

  get running() {
    return this.#timer !== undefined;
  }

  get timeoutMs() {
    return this.#timeoutMs;
  }

  /** Change the timeout; re-arms the monitor if it is running. */
  setTimeoutMs(ms) {
    this.#timeoutMs = ms;
    if (this.running) this.touch();
  }

  /** Record liveness and (re)arm the monitor. */
  touch() {
    if (this.#timer !== undefined) clearTimeout(this.#timer);
    this.#timer = setTimeout(() => this.#fire(), this.#timeoutMs);
  }

  stop() {
    if (this.#timer !== undefined) clearTimeout(this.#timer);
    this.#timer = undefined;
  }

  #fire() {
    this.#timer = undefined;
    if (this.#isConnecting()) return;
    this.stop();
    this.#onTimeout();
  }
}
