// A scripted HTTP server on 127.0.0.1 (random free port) for unit tests.
// The test supplies `handler(req, res, index)` where index counts requests
// from 0; every request is recorded with its arrival time and headers.
import http from 'node:http';

export async function startScriptServer(handler) {
  const requests = [];
  const sockets = new Set();
  const server = http.createServer((req, res) => {
    const index = requests.length;
    requests.push({ index, url: req.url, headers: req.headers, at: Date.now() });
    Promise.resolve(handler(req, res, index)).catch((error) => {
      res.destroy(error);
    });
  });
  server.on('connection', (socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });
  await new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', resolve);
  });
  const { port } = server.address();
  return {
    port,
    origin: `http://127.0.0.1:${port}`,
    url: `http://127.0.0.1:${port}/events?topic=t`,
    requests,
    async close() {
      for (const socket of sockets) socket.destroy();
      await new Promise((resolve) => server.close(() => resolve()));
    },
  };
}

/** Start an event-stream response. */
export function openStream(res, extraHeaders = {}) {
  res.writeHead(200, {
    'Content-Type': 'text/event-stream',
    'Cache-Control': 'no-cache',
    ...extraHeaders,
  });
  res.flushHeaders();
}

/** Frame of the `ready` event as ssehub sends it. */
export function readyFrame(heartbeatMs = 15000, connectionId = 'c1') {
  return `retry: 1000\nevent: ready\ndata: ${JSON.stringify({ connectionId, heartbeatMs, replica: 'test' })}\n\n`;
}

/** Frame of an application event. */
export function eventFrame(id, type, data) {
  return `id: ${id}\nevent: ${type}\ndata: ${JSON.stringify(data)}\n\n`;
}

/** Answer with an ssehub-style JSON error. */
export function errorResponse(res, status, error = 'error', detail = '', headers = {}) {
  res.writeHead(status, { 'Content-Type': 'application/json', ...headers });
  res.end(JSON.stringify({ error, detail }));
}
