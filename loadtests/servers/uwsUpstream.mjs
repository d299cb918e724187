#!/usr/bin/env node
// A deliberately fast upstream for proxy benchmarks (bare uWebSockets.js), so that the proxies, not the
// backend, are what is measured. Prints {"event":"listening","port":N}.
import uWS from 'uWebSockets.js';

const body = JSON.stringify({ id: 42, name: 'turnpike', tags: ['api', 'gateway'], ok: true });
const app = uWS.App();
app.any('/*', (res, req) => {
  if (req.getMethod() === 'post') {
    res.onAborted(() => {});
    res.onData((_chunk, last) => last && res.cork(() => res.writeHeader('content-type', 'application/json').end(body)));
    return;
  }
  res.writeHeader('content-type', 'application/json').end(body);
});
app.listen('127.0.0.1', Number(process.argv[2] ?? 0), (s) => {
  if (!s) process.exit(1);
  console.log(JSON.stringify({ event: 'listening', port: uWS.us_socket_local_port(s) }));
});
process.on('SIGTERM', () => process.exit(0));
