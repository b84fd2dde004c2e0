// Node's own http server (http.createServer), used by make_apps.sh.
//
//   node apps_node_server.js MODE PORT
//
// Every socket event is logged to stdout with an ISO timestamp, so the
// manifest can quote what the server saw.  'clientError' is logged by wrapping
// server.emit, NOT by adding a listener: with a listener Node would no longer
// send its own 400/408 answer, and the point is to record Node's default.
//
// MODE:
//   ka-default      defaults (keepAliveTimeout 5000)
//   ka-2s           server.keepAliveTimeout = 2000
//   headers-timeout createServer({connectionsCheckingInterval: 500}),
//                   headersTimeout 2000, requestTimeout 3000
//   bad-request     defaults; the client sends malformed requests
//   close-503       the 3rd request on a connection gets 503 + Connection: close
//   upgrade         'upgrade' handler answers 101 and echoes; closes 3 s later
//   client-rst      defaults; the client closes with RST
//   max-requests    server.maxRequestsPerSocket = 2
//   partial-body    as headers-timeout; POST bodies are read before answering
//   stalled         server.timeout = 2000 (socket inactivity) with a server 'timeout'
//                   listener that calls socket.resetAndDestroy() (RST); GET /big
//                   sends 16 MB (more than the kernel's send buffer takes)
//   stalled-default server.timeout = 2000 with NO 'timeout' listener (Node destroys
//                   the socket itself); GET /big sends 16 MB
//   target          defaults; a health-check target for HAProxy
'use strict';
const http = require('http');

const mode = process.argv[2];
const port = Number(process.argv[3]);
const host = '127.0.0.1';

function log(...args) {
  console.log(new Date().toISOString(), ...args);
}

const options = {};
if (mode === 'headers-timeout' || mode === 'partial-body') {
  options.connectionsCheckingInterval = 500;
  options.headersTimeout = 2000;
  options.requestTimeout = 3000;
}

let nconn = 0;
const server = http.createServer(options, (req, res) => {
  const sock = req.socket;
  sock._katuiReqs = (sock._katuiReqs || 0) + 1;
  log(`conn#${sock._katuiId} request ${sock._katuiReqs}: ${req.method} ${req.url} HTTP/${req.httpVersion}`);
  res.on('finish', () => log(`conn#${sock._katuiId} response ${sock._katuiReqs} finished: ${res.statusCode}`));
  if (mode === 'partial-body' && req.method === 'POST') {
    let got = 0;
    req.on('data', (d) => { got += d.length; log(`conn#${sock._katuiId} body bytes so far: ${got}`); });
    req.on('aborted', () => log(`conn#${sock._katuiId} request aborted after ${got} body bytes`));
    req.on('end', () => { res.setHeader('Content-Type', 'text/plain'); res.end(`got ${got}\n`); });
    return;
  }
  if ((mode === 'stalled' || mode === 'stalled-default') && req.url === '/big') {
    const body = Buffer.alloc(16 * 1024 * 1024, 'x');
    res.setHeader('Content-Type', 'application/octet-stream');
    res.setHeader('Content-Length', body.length);
    res.on('close', () => log(`conn#${sock._katuiId} response closed; finished=${res.writableFinished} socket bytesWritten=${sock.bytesWritten}`));
    res.end(body);
    return;
  }
  if (mode === 'sse' && req.url === '/events') {
    // server-sent events: one event a second (a heartbeat comment every 2.5 s between), for
    // up to 8 events, then the stream ends; the client usually leaves first
    res.setHeader('Content-Type', 'text/event-stream');
    res.setHeader('Cache-Control', 'no-cache');
    res.flushHeaders();
    let n = 0;
    const tick = setInterval(() => {
      n += 1;
      res.write(`id: ${n}\ndata: event ${n}\n\n`);
      if (n >= 8) { clearInterval(tick); res.end(); }
    }, 1000);
    res.on('close', () => {
      clearInterval(tick);
      log(`conn#${sock._katuiId} event stream closed after ${n} events; finished=${res.writableFinished}`);
    });
    return;
  }
  if (mode === 'close-503' && sock._katuiReqs >= 3) {
    res.statusCode = 503;
    res.setHeader('Connection', 'close');
    res.setHeader('Content-Type', 'text/plain');
    res.end('busy\n');
    return;
  }
  res.setHeader('Content-Type', 'text/plain');
  res.end('ok\n');
});

if (mode === 'ka-2s') server.keepAliveTimeout = 2000;
if (mode === 'max-requests') server.maxRequestsPerSocket = 2;
if (mode === 'stalled-default') server.timeout = 2000;
if (mode === 'stalled') {
  server.timeout = 2000;
  server.on('timeout', (sock) => {
    log(`conn#${sock._katuiId} socket inactive 2000 ms (bytesWritten=${sock.bytesWritten}` +
        ` writableLength=${sock.writableLength}): resetAndDestroy()`);
    sock.resetAndDestroy();
  });
}

server.on('connection', (sock) => {
  const id = ++nconn;
  sock._katuiId = id;
  const peer = `${sock.remoteAddress}:${sock.remotePort}`;
  log(`conn#${id} open from ${peer}`);
  sock.on('end', () => log(`conn#${id} peer sent FIN`));
  sock.on('error', (e) => log(`conn#${id} socket error ${e.code || e.message}`));
  sock.on('timeout', () => log(`conn#${id} socket timeout event`));
  sock.on('close', (hadError) => log(`conn#${id} closed (hadError=${hadError})`));
});

// log clientError without changing Node's default handling (see top)
const origEmit = server.emit;
server.emit = function (event, ...args) {
  if (event === 'clientError') {
    const [err, sock] = args;
    log(`conn#${sock._katuiId} clientError ${err.code}: ${err.message}` +
        (err.rawPacket ? ` raw=${JSON.stringify(err.rawPacket.toString('latin1'))}` : ''));
  } else if (event === 'timeout') {
    log(`server timeout event`);
  }
  return origEmit.call(this, event, ...args);
};

if (mode === 'upgrade') {
  server.on('upgrade', (req, sock, head) => {
    log(`conn#${sock._katuiId} upgrade request ${req.method} ${req.url} Upgrade: ${req.headers.upgrade}`);
    sock.write('HTTP/1.1 101 Switching Protocols\r\n' +
               'Upgrade: websocket\r\nConnection: Upgrade\r\n\r\n');
    if (head && head.length) sock.write(head);
    sock.on('data', (d) => {
      log(`conn#${sock._katuiId} upgraded data ${JSON.stringify(d.toString('latin1'))} -> echo`);
      sock.write(d);
    });
    setTimeout(() => {
      log(`conn#${sock._katuiId} app closes the upgraded socket (sock.end())`);
      sock.end();
    }, 3000);
  });
}

server.listen(port, host, () => {
  log(`node ${process.version} mode=${mode} listening on ${host}:${port}` +
      ` keepAliveTimeout=${server.keepAliveTimeout} headersTimeout=${server.headersTimeout}` +
      ` requestTimeout=${server.requestTimeout} maxRequestsPerSocket=${server.maxRequestsPerSocket}` +
      ` timeout=${server.timeout}`);
});

process.on('SIGTERM', () => { log('SIGTERM: exiting'); process.exit(0); });
