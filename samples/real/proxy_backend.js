// Tiny Node backend for samples/real/make_proxy.sh: answers every request with 200 and a short
// text, and closes keep-alive connections after KEEPALIVE_MS idle (Node's keepAliveTimeout).
// Logs one line per request and per closed connection on stdout (the manifest quotes them).
//
// A request for /slow is answered after 400, 100 or 200 ms, taking turns in arrival order (so
// concurrent identical requests finish out of order). An X-Request-Id header is logged.
//
// With RESET_AFTER_MS, a request that arrives on a connection idle for at least that long is
// not answered: the connection is reset instead. That emulates the keep-alive race at the
// backend's end (its idle timer firing just as the request arrives) without timing luck.
//
//   node proxy_backend.js PORT KEEPALIVE_MS [RESET_AFTER_MS [ADDRESS]]
// (ADDRESS: the address to listen on, 127.0.0.1 by default)
'use strict';
const http = require('http');

const port = Number(process.argv[2]);
const keepAliveMs = Number(process.argv[3] || 2000);
const resetAfterMs = Number(process.argv[4] || 0);
const t0 = Date.now();
let nextConn = 0;
let slowCount = 0;
const SLOW_MS = [400, 100, 200];

function log(msg) {
  process.stdout.write(`${((Date.now() - t0) / 1000).toFixed(3)} ${msg}\n`);
}

const server = http.createServer((req, res) => {
  const sock = req.socket;
  sock.katuiRequests += 1;
  const idle = Date.now() - sock.katuiIdleSince;
  if (resetAfterMs && sock.katuiRequests > 1 && idle >= resetAfterMs) {
    log(`conn=${sock.katuiId} peer=${sock.remotePort} req=${sock.katuiRequests} ` +
        `"${req.method} ${req.url}" reset after ${idle} ms idle, not answered`);
    sock.resetAndDestroy();
    return;
  }
  let body = 0;
  req.on('data', (chunk) => { body += chunk.length; });
  const delay = req.url.startsWith('/slow') ? SLOW_MS[slowCount++ % SLOW_MS.length] : 0;
  const rid = req.headers['x-request-id'];
  req.on('end', () => setTimeout(() => {
    const text = `node ${req.method} ${req.url} body=${body}\n`;
    res.writeHead(200, { 'Content-Type': 'text/plain', 'Content-Length': Buffer.byteLength(text) });
    res.end(text, () => { sock.katuiIdleSince = Date.now(); });
    log(`conn=${sock.katuiId} peer=${sock.remotePort} req=${sock.katuiRequests} ` +
        `"${req.method} ${req.url}" 200 body=${body}` +
        `${req.headers['x-forwarded-for'] ? ` xff=${req.headers['x-forwarded-for']}` : ''}` +
        `${delay ? ` after ${delay} ms` : ''}${rid ? ` rid=${rid}` : ''}`);
  }, delay));
});
server.keepAliveTimeout = keepAliveMs;
server.on('connection', (sock) => {
  sock.katuiId = ++nextConn;
  sock.katuiRequests = 0;
  sock.katuiIdleSince = Date.now();
  const peer = sock.remotePort;
  log(`conn=${sock.katuiId} peer=${peer} accepted`);
  sock.on('close', (hadError) => {
    log(`conn=${sock.katuiId} peer=${peer} closed after ${sock.katuiRequests} requests` +
        `${hadError ? ' (error)' : ''}`);
  });
});
const host = process.argv[5] || '127.0.0.1';
server.listen(port, host, () => log(`listening on ${host}:${port} keepAliveTimeout=${keepAliveMs}`));
process.on('SIGTERM', () => { log('SIGTERM'); process.exit(0); });
