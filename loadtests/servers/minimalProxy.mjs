#!/usr/bin/env node
// The least a Node.js proxy on uWebSockets.js does per request: this runtime's floor, measured beside
// nginx and Turnpike by `npm run bench -- proxy`. uWS takes the client request; it goes upstream as one
// latin1 string (request line, the client's headers, X-Forwarded-For) on a kept-alive net.Socket that
// reads into one shared buffer; the response (Content-Length framing only, found with indexOf) goes back
// in one cork. No routing, request ids, limits, timeouts or error handling beyond dropping a socket:
// a yardstick, not a proxy to use. Usage: minimalProxy.mjs UPSTREAM_PORT [PORT]; prints
// {"event":"listening","port":N}.
import uWS from 'uWebSockets.js';
import { connect } from 'node:net';

const upstreamPort = Number(process.argv[2]);
const idle = [];
const latin1 = new TextDecoder('latin1');
const READ = Buffer.allocUnsafe(64 * 1024);

function upstream() {
  const s = connect({ host: '127.0.0.1', port: upstreamPort, noDelay: true, onread: { buffer: READ, callback: (n) => onRead(s, n) } });
  s.res = null;
  s.held = null;
  s.on('error', () => {});
  s.on('close', () => {
    const i = idle.indexOf(s);
    if (i >= 0) idle.splice(i, 1);
    if (s.res !== null && !s.res.aborted) s.res.close();
  });
  return s;
}

function onRead(s, n) {
  const buf = s.held === null ? READ.subarray(0, n) : Buffer.concat([s.held, READ.subarray(0, n)]);
  const end = buf.indexOf('\r\n\r\n');
  const head = end < 0 ? '' : buf.latin1Slice(0, end);
  const length = Number(/content-length: *(\d+)/i.exec(head)?.[1] ?? 0);
  if (end < 0 || buf.length < end + 4 + length) {
    s.held = Buffer.from(buf);
    return;
  }
  s.held = null;
  const res = s.res;
  s.res = null;
  idle.push(s);
  if (res === null || res.aborted) return;
  const lines = head.split('\r\n');
  res.cork(() => {
    res.writeStatus(lines[0].slice(9));
    for (let i = 1; i < lines.length; i++) {
      const colon = lines[i].indexOf(':');
      const name = lines[i].slice(0, colon).toLowerCase();
      if (name !== 'content-length' && name !== 'date' && name !== 'connection') res.writeHeader(name, lines[i].slice(colon + 1).trim());
    }
    res.end(buf.subarray(end + 4, end + 4 + length));
  });
}

const app = uWS.App();
app.any('/*', (res, req) => {
  res.onAborted(() => (res.aborted = true));
  const query = req.getQuery();
  let head = `${req.getCaseSensitiveMethod()} ${req.getUrl()}${query ? `?${query}` : ''} HTTP/1.1\r\n`;
  req.forEach((k, v) => (head += `${k}: ${v}\r\n`));
  head += `x-forwarded-for: ${latin1.decode(res.getRemoteAddressAsText())}\r\n\r\n`;
  const s = idle.pop() ?? upstream();
  s.res = res;
  s.write(head, 'latin1');
});
app.listen('127.0.0.1', Number(process.argv[3] ?? 0), (listening) => {
  if (!listening) process.exit(1);
  console.log(JSON.stringify({ event: 'listening', port: uWS.us_socket_local_port(listening) }));
});
process.on('SIGTERM', () => process.exit(0));
