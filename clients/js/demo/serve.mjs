#!/usr/bin/env node
// Static server for the ssehub client demo: serves demo/ and src/ of this
// package on 127.0.0.1 (a different origin from ssehub, so the page exercises
// CORS like a real deployment). No dependencies.
//
//   node demo/serve.mjs [--port 9999] [--host 127.0.0.1]
//   then open http://127.0.0.1:9999/?ssehub=http://127.0.0.1:8080
import http from 'node:http';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const served = ['demo', 'src'];
const types = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.ts': 'text/plain; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.json': 'application/json; charset=utf-8',
};

function option(name, fallback) {
  const index = process.argv.indexOf(`--${name}`);
  return index !== -1 && process.argv[index + 1] ? process.argv[index + 1] : fallback;
}

const port = Number(option('port', process.env.PORT || 9999));
const host = option('host', '127.0.0.1');

const server = http.createServer(async (req, res) => {
  const url = new URL(req.url, 'http://localhost');
  let pathname = decodeURIComponent(url.pathname);
  if (pathname === '/' || pathname === '/demo') {
    res.writeHead(302, { Location: `/demo/${url.search}` });
    return res.end();
  }
  if (pathname.endsWith('/')) pathname += 'index.html';
  const file = path.resolve(root, `.${pathname}`);
  const relative = path.relative(root, file);
  if (req.method !== 'GET' && req.method !== 'HEAD') {
    res.writeHead(405, { Allow: 'GET, HEAD' });
    return res.end();
  }
  if (relative.startsWith('..') || !served.includes(relative.split(path.sep)[0])) {
    res.writeHead(404, { 'Content-Type': 'text/plain' });
    return res.end('not found\n');
  }
  try {
    const body = await readFile(file);
    res.writeHead(200, {
      'Content-Type': types[path.extname(file)] || 'application/octet-stream',
      'Cache-Control': 'no-store',
    });
    res.end(req.method === 'HEAD' ? undefined : body);
  } catch {
    res.writeHead(404, { 'Content-Type': 'text/plain' });
    res.end('not found\n');
  }
});

server.listen(port, host, () => {
  const { port: actual } = server.address();
  console.log(`ssehub demo on http://${host}:${actual}/ (add ?ssehub=http://127.0.0.1:8080 to pick the daemon)`);
});

for (const signal of ['SIGINT', 'SIGTERM']) process.on(signal, () => server.close(() => process.exit(0)));
