// Incremental parser for the `text/event-stream` format, following the
// WHATWG HTML "server-sent events" interpretation rules:
//   - one leading U+FEFF (BOM) is skipped;
//   - lines end in CRLF, LF or CR (a CRLF split across two chunks is one
//     line end);
//   - lines starting with ':' are comments;
//   - `field: value` strips a single space after the colon; a line without a
//     colon is a field with an empty value;
//   - `data` lines are joined with '\n'; `id` containing NUL is ignored;
//     `retry` is honoured only when it is all ASCII digits;
//   - an empty line dispatches the event (only if the data buffer is
//     non-empty); the last event id persists across events;
//   - an unfinished event at end of stream is discarded.
//
// The parser keeps no I/O: feed it bytes (Uint8Array) or already decoded
// strings, in pieces of any size.

const LF = 0x0a;
const CR = 0x0d;

/**
 * @typedef {{ type: string, data: string, lastEventId: string, hasId: boolean, topic: string }} ParsedEvent
 * `topic` is ssehub's own `topic:` field ('' when the block has none); the
 * WHATWG rules ignore it, so EventSource never sees it.
 */

export class EventStreamParser {
  /** @type {(event: ParsedEvent) => void} */
  #onEvent;
  /** @type {(ms: number) => void} */
  #onRetry;
  /** @type {TextDecoder} */
  #decoder;
  #buffer = '';
  #started = false; // a character was seen, so a BOM is no longer possible
  #skipLeadingLF = false; // the previous chunk ended in CR
  #data = '';
  #hasData = false;
  #eventType = '';
  #idSeen = false; // this event block carried a valid `id` field
  #topic = '';
  #lastEventId;

  /**
   * @param {object} handlers
   * @param {(event: ParsedEvent) => void} handlers.onEvent
   * @param {(ms: number) => void} [handlers.onRetry]
   * @param {string} [handlers.lastEventId] initial last event id
   */
  constructor({ onEvent, onRetry = () => {}, lastEventId = '' }) {
    this.#onEvent = onEvent;
    this.#onRetry = onRetry;
    this.#lastEventId = lastEventId;
    // The BOM is handled below so that string and byte input behave alike.
    this.#decoder = new TextDecoder('utf-8', { ignoreBOM: true });
  }

  /** The last event id seen so far (updated even by events without data). */
  get lastEventId() {
    return this.#lastEventId;
  }

  /** Resume from `id` (e.g. the position in ssehub's `ready`) as if it had been received. */
  set lastEventId(id) {
    this.#lastEventId = String(id);
  }

  /** @param {Uint8Array | string} chunk */
  feed(chunk) {
    const text = typeof chunk === 'string' ? chunk : this.#decoder.decode(chunk, { stream: true });
    this.#consume(text);
  }

  /** Flush the decoder at end of stream; an unterminated event is dropped. */
  end() {
    this.#consume(this.#decoder.decode());
    this.#buffer = '';
    this.#resetEvent();
  }

  /** @param {string} text */
  #consume(text) {
    if (text.length === 0) return;
    if (!this.#started) {
      this.#started = true;
      if (text.charCodeAt(0) === 0xfeff) text = text.slice(1);
      if (text.length === 0) return;
    }
    if (this.#skipLeadingLF) {
      this.#skipLeadingLF = false;
      if (text.charCodeAt(0) === LF) text = text.slice(1);
    }
    let buffer = this.#buffer + text;
    let start = 0;
    for (let i = 0; i < buffer.length; i++) {
      const c = buffer.charCodeAt(i);
      if (c !== LF && c !== CR) continue;
      this.#line(buffer.slice(start, i));
      if (c === CR) {
        if (i + 1 < buffer.length) {
          if (buffer.charCodeAt(i + 1) === LF) i++;
        } else {
          this.#skipLeadingLF = true;
        }
      }
      start = i + 1;
    }
    this.#buffer = buffer.slice(start);
  }

  /** @param {string} line */
  #line(line) {
    if (line.length === 0) {
      this.#dispatch();
      return;
    }
    if (line.charCodeAt(0) === 0x3a /* ':' */) return; // comment
    const colon = line.indexOf(':');
    let field;
    let value;
    if (colon === -1) {
      field = line;
      value = '';
    } else {
      field = line.slice(0, colon);
      value = line.slice(colon + 1);
      if (value.charCodeAt(0) === 0x20) value = value.slice(1);
    }
    switch (field) {
      case 'event':
        this.#eventType = value;
        break;
      case 'data':
        this.#data += value + '\n';
        this.#hasData = true;
        break;
      case 'id':
        if (!value.includes('\0')) {
          this.#lastEventId = value;
          this.#idSeen = true;
        }
        break;
      case 'topic':
        this.#topic = value;
        break;
      case 'retry':
        if (/^[0-9]+$/.test(value)) this.#onRetry(Number.parseInt(value, 10));
        break;
      default:
        break; // unknown fields are ignored
    }
  }

  #dispatch() {
    if (!this.#hasData) {
      this.#resetEvent();
      return;
    }
    const event = {
      type: this.#eventType || 'message',
      data: this.#data.slice(0, -1), // strip the trailing '\n'
      lastEventId: this.#lastEventId,
      hasId: this.#idSeen,
      topic: this.#topic,
    };
    this.#resetEvent();
    this.#onEvent(event);
  }

  #resetEvent() {
    this.#data = '';
    this.#hasData = false;
    this.#eventType = '';
    this.#idSeen = false;
    this.#topic = '';
  }
}
