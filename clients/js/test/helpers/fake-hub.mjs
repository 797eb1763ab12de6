// A small stand-in for ssehub in unit tests: one event log with ids
// `fk-<seq>`, streams of several topics (`topic:` on every event), `ready`
// with `lastId`, replay after Last-Event-ID (truncated past `replayLimit`).
import http from 'node:http';


function frame(event) {
  return `id: ${event.id}\nevent: ${event.type}\ntopic: ${event.topic}\ndata: ${JSON.stringify(event.data)}\n\n`;
}

export async function startFakeHub({ replayLimit = 1000 } = {}) {
  let epoch = 'fk';
  const events = [];
  const streams = new Set();
  const requests = [];
  const server = http.createServer((req, res) => {
    const url = new URL(req.url, 'http://localhost');
    if (url.pathname !== '/events') {
      res.writeHead(404);
      res.end();
      return;
    }
    const topics = url.searchParams.getAll('topic');
    const last = req.headers['last-event-id'];
    requests.push({ topics, lastEventId: last });
    res.writeHead(200, { 'Content-Type': 'text/event-stream', 'Cache-Control': 'no-cache' });
    const head = `${epoch}-${events.length}`;
    res.write('retry: 1000\n\n');
    res.write(`event: ready\ndata: ${JSON.stringify({ connectionId: `c${requests.length}`, heartbeatMs: 15000, lastId: head })}\n\n`);
    if (last) {
      const match = new RegExp(`^${epoch}-(\\d+)$`).exec(last);
      const after = match ? Number(match[1]) : -1;
      const missed = match ? events.slice(after).filter((e) => topics.includes(e.topic)) : [];
      if (!match || after > events.length) {
        res.write(`id: ${head}\nevent: replay-truncated\ndata: {"reason":"unknown-id"}\n\n`);
      } else if (missed.length > replayLimit) {
        res.write(`id: ${head}\nevent: replay-truncated\ndata: ${JSON.stringify({ reason: 'limit', limit: replayLimit, requestedAfter: last })}\n\n`);
      } else {
        for (const event of missed) res.write(frame(event));
      }
    }
    const stream = { res, topics };
    streams.add(stream);
    res.on('close', () => streams.delete(stream));
  });
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  const base = `http://127.0.0.1:${server.address().port}`;
  return {
    requests,
    events,
    url: (...topics) => `${base}/events?${topics.map((t) => `topic=${encodeURIComponent(t)}`).join('&')}`,
    get openStreams() {
      return streams.size;
    },
    publish(topic, data = {}, type = 'message') {
      const event = { id: `${epoch}-${events.length + 1}`, topic, type, data };
      events.push(event);
      for (const stream of streams) if (stream.topics.includes(topic)) stream.res.write(frame(event));
      return event.id;
    },
    /** A new store (as when an in-memory ssehub restarts): new epoch, no events, streams cut. */
    reset() {
      epoch = `${epoch}x`;
      events.length = 0;
      for (const stream of streams) stream.res.destroy();
    },
    /** The ids of `topics`' events, in order. */
    idsOf(...topics) {
      return events.filter((e) => topics.includes(e.topic)).map((e) => e.id);
    },
    async close() {
      for (const stream of streams) stream.res.destroy();
      server.closeAllConnections?.();
      await new Promise((resolve) => server.close(resolve));
    },
  };
}
