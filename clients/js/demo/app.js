// ssehub demo page: one EventStreamClient bound to a status indicator, a
// Retry button (recover()), a topic input and a list of received events.
// With shared=1 (the default) every tab of the page shares one stream: the
// page shows whether this tab leads it or follows.
// Query parameters: ssehub (daemon URL, default http://127.0.0.1:8080),
// topic (default "demo"), shared (1 or 0), maxReconnectAttempts, baseDelayMs.
import { EventStreamClient } from '@ssehub/client';

const params = new URLSearchParams(location.search);
const ssehubUrl = (params.get('ssehub') || 'http://127.0.0.1:8080').replace(/\/+$/, '');
const maxReconnectAttempts = Number(params.get('maxReconnectAttempts') || 10);
const baseDelayMs = Number(params.get('baseDelayMs') || 500);
const shared = params.get('shared') !== '0';

const $ = (id) => document.getElementById(id);
const statusEl = $('status');
const attemptsEl = $('attempts');
const lastIdEl = $('last-id');
const eventsEl = $('events');
const topicEl = $('topic');
const roleEl = $('role');
$('ssehub-url').textContent = ssehubUrl;
topicEl.value = params.get('topic') || topicEl.value;

let client;
// What this tab received, for tests and the console.
const received = { events: [], rehydrates: [] };

function addLine(className, parts) {
  const li = document.createElement('li');
  if (className) li.className = className;
  for (const [cls, text] of parts) {
    const span = document.createElement('span');
    if (cls) span.className = cls;
    span.textContent = text;
    li.append(span);
  }
  eventsEl.prepend(li);
  while (eventsEl.children.length > 200) eventsEl.lastElementChild.remove();
}

function showStatus(status) {
  statusEl.dataset.status = status;
  statusEl.textContent = status;
  attemptsEl.textContent = String(client.reconnectAttempts);
  lastIdEl.textContent = client.lastEventId || '–';
  roleEl.dataset.role = client.role;
  const tabs = client.sharing?.members;
  roleEl.textContent =
    client.role === 'single' ? 'own stream' : `${client.role} of a stream shared by ${tabs || '?'} tab${tabs === 1 ? '' : 's'}`;
}

function subscribe(topic) {
  if (client) {
    client.setTopics([topic]); // an open stream reconnects with its Last-Event-ID
    return;
  }
  const url = `${ssehubUrl}/events?topic=${encodeURIComponent(topic)}`;
  client = new EventStreamClient({
    url,
    shared,
    baseDelayMs,
    maxDelayMs: 10000,
    maxReconnectAttempts,
    onStatus: (status) => showStatus(status),
    onEvent: (event) => {
      received.events.push(event);
      addLine('event', [
        ['id', `${event.id}  `],
        ['type', event.type],
        ['', `  ${JSON.stringify(event.data)}`],
      ]);
      lastIdEl.textContent = event.id;
    },
    // A real page would reload its state from its own API here; events that
    // arrive meanwhile are delivered after it, so the handlers must be idempotent.
    onRehydrate: async (reason, info, resume) => {
      received.rehydrates.push({ reason, lastEventId: resume.lastEventId });
      addLine('rehydrate', [['type', 're-hydrate'], ['', `  ${reason}, delivery goes on after ${resume.lastEventId || '–'}`]]);
    },
    onError: (error) => console.warn('ssehub stream:', error?.message ?? error),
  });
  showStatus(client.status);
  client.connect();
}

$('retry').addEventListener('click', () => client.recover());

$('topic-form').addEventListener('submit', (event) => {
  event.preventDefault();
  const topic = topicEl.value.trim();
  if (topic) subscribe(topic);
});

$('publish-form').addEventListener('submit', async (event) => {
  event.preventDefault();
  const response = await fetch(`${ssehubUrl}/publish`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify({ topic: topicEl.value.trim(), type: 'message', data: { text: $('message').value } }),
  }).catch((error) => ({ ok: false, statusText: error.message }));
  if (!response.ok) addLine('rehydrate', [['type', 'publish failed'], ['', `  ${response.status ?? ''} ${response.statusText}`]]);
});

// The counter and last id change without a status change (e.g. the counter
// resets once the new connection is healthy): refresh them regularly.
setInterval(() => client && showStatus(client.status), 250);

// Exposed for debugging from the console.
window.ssehubDemo = {
  get client() {
    return client;
  },
  received,
};

subscribe(topicEl.value);
