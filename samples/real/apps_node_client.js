// Node's own HTTP clients, used by make_node.sh: http.request on http.globalAgent (Node 20's
// default: keepAlive true, timeout 5000 ms for idle pooled sockets, lowered to the server's
// 'Keep-Alive: timeout=N' hint less 1 s: node-agent-hint) or the global fetch() (Node 20's
// bundled undici: keepAliveTimeout 4 s by default, or the server's hint less 1 s; newer undici
// versions keep a larger margin).
//
//   node apps_node_client.js agent|fetch PORT STEPS
//
// STEPS: comma-separated; 'get' sends GET /nodeN and waits for the whole answer, a number
// sleeps that many seconds (bounded: the steps are all there is). Each request logs, with an
// ISO timestamp, the local port of the socket it went on and whether the agent reused it
// (agent: req.reusedSocket), and any error. No request is retried: Node's agent does not
// retry by itself (its documentation shows how an application could), and the point is to
// record what a plain program sees.
'use strict';
const http = require('http');

const [mode, portArg, stepsArg] = process.argv.slice(2);
const port = Number(portArg);
const steps = stepsArg.split(',');

function log(...args) {
  console.log(new Date().toISOString(), ...args);
}

function viaAgent(path) {
  return new Promise((resolve) => {
    const req = http.request({ host: '127.0.0.1', port, path }, (res) => {
      let n = 0;
      res.on('data', (d) => { n += d.length; });
      res.on('end', () => {
        log(`${path}: ${res.statusCode}, ${n} B, local port ${req.socket.localPort}, reused=${req.reusedSocket}`);
        resolve();
      });
    });
    req.on('socket', (sock) => {
      if (!sock._katuiSeen) {
        sock._katuiSeen = true;
        sock.on('close', (hadError) => log(`socket local port ${sock._katuiPort} closed (hadError=${hadError})`));
        sock.on('connect', () => { sock._katuiPort = sock.localPort; });
        sock.on('timeout', () => log(`socket local port ${sock._katuiPort} idle timeout (agent)`));
      }
    });
    req.on('error', (err) => {
      log(`${path}: error ${err.code || ''} ${err.message}, reused=${req.reusedSocket}`);
      resolve();
    });
    req.end();
  });
}

async function viaFetch(path) {
  try {
    const res = await fetch(`http://127.0.0.1:${port}${path}`);
    const body = await res.text();
    log(`${path}: ${res.status}, ${body.length} B`);
  } catch (err) {
    const cause = err.cause ? ` (cause: ${err.cause.code || ''} ${err.cause.message})` : '';
    log(`${path}: error ${err.message}${cause}`);
  }
}

async function main() {
  let n = 0;
  for (const step of steps) {
    if (step === 'get') {
      n += 1;
      const path = `/node${n}`;
      log(`${path}: sending`);
      await (mode === 'fetch' ? viaFetch(path) : viaAgent(path));
    } else {
      await new Promise((r) => setTimeout(r, Number(step) * 1000));
    }
  }
  // Pooled sockets do not keep Node running: it exits here and the kernel closes what is left
  // (a trailing sleep step lets the agent's or undici's idle timer run out first).
  log('done');
}

main();
