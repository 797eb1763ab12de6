// Type declarations for the ssehub client (src/index.js).

export type Status = 'idle' | 'connecting' | 'open' | 'reconnecting' | 'failed' | 'closed';

/** An application event from the stream. `data` is the parsed JSON (the raw string if it is not JSON). */
export interface StreamEvent<T = unknown> {
  id: string;
  type: string;
  data: T;
  /** The event's topic (ssehub's `topic:` field), when the server sent it. */
  topic?: string;
}

/** The third argument of onRehydrate: delivery goes on with the events after this id. */
export interface RehydrateResume {
  /** '' when the position is not known (a server that does not send it). */
  lastEventId: string;
}

/** Data of ssehub's `ready` event. */
export interface ReadyInfo {
  connectionId?: string;
  heartbeatMs?: number;
  replica?: string;
  /** The store's position when the stream became ready (resume point for a stream that saw no event). */
  lastId?: string;
  [key: string]: unknown;
}

/**
 * `shared: true` (or these options) shares one stream among every tab of the
 * origin that uses the same stream URL, topics aside. Needs Web Locks and
 * BroadcastChannel; without them the client holds a stream of its own.
 */
export interface SharedOptions {
  /** Name of the shared stream (default: the URL without its topics). */
  name?: string;
  /** A new leader waits this long for the other tabs' topics and positions (default 50). */
  electionMs?: number;
  /** The leader tells the tabs it is alive this often (default 5000). */
  leaderHeartbeatMs?: number;
  /** A tab takes over from a leader silent for this long (default 90000). */
  leaderTimeoutMs?: number;
  /** The leader drops the topics of tabs that are gone this often (default 5000). */
  memberCheckMs?: number;
  /** Web Locks implementation (default navigator.locks). */
  locks?: unknown;
  /** BroadcastChannel constructor (default globalThis.BroadcastChannel). */
  BroadcastChannel?: unknown;
}

export type Role = 'single' | 'leader' | 'follower';

/**
 * Why the client asks the application to re-hydrate its state:
 * - `'recover'`: recover() was called (Retry button, `online`, `visibilitychange`);
 * - `'replay-truncated:limit' | 'replay-truncated:expired' | 'replay-truncated:unknown-id'`:
 *   the server could not replay everything since Last-Event-ID;
 * - `'replay-failed:timeout' | 'replay-failed:unavailable' | 'replay-failed:busy' | 'replay-failed:error'`:
 *   the replay query failed;
 * - `'replay-truncated'` / `'replay-failed'` when the event carried no reason.
 */
export type RehydrateReason =
  | 'recover'
  | `replay-truncated:${string}`
  | `replay-failed:${string}`
  | 'replay-truncated'
  | 'replay-failed';

/** Parsed data of the `replay-truncated` / `replay-failed` event (undefined for 'recover'). */
export interface RehydrateInfo {
  reason?: string;
  limit?: number;
  requestedAfter?: string;
  [key: string]: unknown;
}

export interface StatusDetail {
  reconnectAttempts: number;
  /** Why the connection was lost (for 'reconnecting' and 'failed'). */
  error?: unknown;
}

export interface EventStreamClientOptions {
  /** Full stream URL, e.g. `http://127.0.0.1:8080/events?topic=orders`. */
  url: string | URL;
  /** Extra request headers. */
  headers?: Record<string, string> | [string, string][] | Headers;
  /** Returns a fresh token; awaited before the first connect, after `token-expired` and after a 401. */
  getToken?: () => string | Promise<string>;
  /** Backoff base in ms (default 1000). */
  baseDelayMs?: number;
  /** Backoff cap in ms (default 30000); no delay reaches it. */
  maxDelayMs?: number;
  /** Failed reconnect attempts before the status becomes 'failed' (default 50). */
  maxReconnectAttempts?: number;
  /** Fixed liveness timeout in ms; default is 2 × ready.heartbeatMs + 1000. */
  heartbeatTimeoutMs?: number;
  /** Time allowed for the response headers of one attempt (default 30000). */
  connectTimeoutMs?: number;
  onEvent?: (event: StreamEvent) => void;
  /** May return a promise; later events are delivered after it settles. */
  onRehydrate?: (reason: RehydrateReason, info: RehydrateInfo | undefined, resume: RehydrateResume) => void | Promise<void>;
  /** ssehub's `ready` arrived (the stream is subscribed to every topic). */
  onReady?: (info: ReadyInfo) => void;
  /** lastEventId moved without an event (the position in `ready`). */
  onPosition?: (lastEventId: string) => void;
  /** Resume from this id on the first connect (sent as Last-Event-ID). */
  lastEventId?: string;
  /** Share one stream among the tabs of the origin (see SharedOptions). Default false. */
  shared?: boolean | SharedOptions;
  onStatus?: (status: Status, detail: StatusDetail) => void;
  /** Failed attempts and errors thrown by callbacks. */
  onError?: (error: unknown) => void;
  /** fetch implementation (default globalThis.fetch). */
  fetch?: typeof fetch;
}

export declare class EventStreamClient {
  constructor(options: EventStreamClientOptions);
  readonly status: Status;
  readonly reconnectAttempts: number;
  readonly lastEventId: string;
  readonly connectionId: string | undefined;
  readonly serverRetryMs: number | undefined;
  readonly heartbeatTimeoutMs: number | undefined;
  readonly topics: string[];
  readonly role: Role;
  readonly sharing: { memberId: string; leaderId: string | undefined; members: number } | undefined;
  connect(): void;
  close(): void;
  recover(): Promise<void>;
  setTopics(topics: string[]): void;
}

export declare class HttpStatusError extends Error {
  readonly status: number;
  readonly code: string | undefined;
  readonly detail: string | undefined;
  readonly retryAfterMs: number | undefined;
}

export declare class StreamError extends Error {
  readonly reason: 'ended' | 'heartbeat-timeout' | 'connect-timeout' | 'token-expired' | 'bad-content-type' | 'superseded';
}

export declare const DEFAULT_HEARTBEAT_MS: number;
export declare const DEFAULT_CONNECT_TIMEOUT_MS: number;
export declare const HEARTBEAT_MARGIN_MS: number;

export interface ParsedEvent {
  type: string;
  data: string;
  lastEventId: string;
  /** The event block carried a valid `id` field. */
  hasId: boolean;
  /** ssehub's `topic:` field ('' when absent). */
  topic: string;
}

export declare class EventStreamParser {
  constructor(handlers: {
    onEvent: (event: ParsedEvent) => void;
    onRetry?: (ms: number) => void;
    lastEventId?: string;
  });
  lastEventId: string;
  feed(chunk: Uint8Array | string): void;
  end(): void;
}

export declare function backoffDelay(
  attempt: number,
  baseDelayMs: number,
  maxDelayMs: number,
  random?: () => number,
): number;

export declare function heartbeatTimeoutFor(heartbeatMs: number): number;

export declare class HeartbeatMonitor {
  constructor(options: { timeoutMs: number; isConnecting: () => boolean; onTimeout: () => void });
  readonly running: boolean;
  readonly timeoutMs: number;
  setTimeoutMs(ms: number): void;
  touch(): void;
  stop(): void;
}
