// ssehub browser/Node client: see README.md for the API.
export {
  EventStreamClient,
  HttpStatusError,
  StreamError,
  DEFAULT_HEARTBEAT_MS,
  DEFAULT_CONNECT_TIMEOUT_MS,
} from './client.js';
export { EventStreamParser } from './parser.js';
export { backoffDelay } from './backoff.js';
export { HeartbeatMonitor, heartbeatTimeoutFor, HEARTBEAT_MARGIN_MS } from './heartbeat.js';
