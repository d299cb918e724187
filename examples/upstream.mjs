#!/usr/bin/env node
// The demo's example upstream: a tiny pet store, as AWS's PetStore sample answers.
// Usage: node examples/upstream.mjs [PORT]  (prints {"event":"listening","port":N})
import { createServer } from 'node:http';

const pets = [
  { id: 1, type: 'dog', price: 249.99 },
  { id: 2, type: 'cat', price: 124.99 },
  { id: 3, type: 'fish', price: 0.99 },
];

const server = createServer((req, res) => {
  const url = new URL(req.url, 'http://upstream');
  const send = (status, body) => {
    res.writeHead(status, { 'content-type': 'application/json' });
    res.end(JSON.stringify(body));
  };
  if (url.pathname === '/petstore/pets' && req.method === 'GET') {
    const type = url.searchParams.get('type');
    return send(200, type ? pets.filter((p) => p.type === type) : pets);
  }
  if (url.pathname === '/petstore/pets' && req.method === 'POST') {
    let body = '';
    req.on('data', (c) => (body += c));
    req.on('end', () => {
      let pet;
      try {
        pet = { id: pets.length + 1, ...JSON.parse(body || '{}') };
      } catch {
        return send(400, { message: 'body must be JSON' });
      }
      send(200, { pet, message: 'success' });
    });
    return;
  }
  const m = /^\/petstore\/pets\/(\d+)$/.exec(url.pathname);
  if (m) {
    const pet = pets.find((p) => p.id === Number(m[1]));
    return pet ? send(200, pet) : send(404, { message: `no pet ${m[1]}` });
  }
  // Everything else: echo what arrived, to show what the gateway forwards.
  send(200, { method: req.method, path: url.pathname, query: url.search, headers: req.headers });
});

server.keepAliveTimeout = 65_000;
server.listen(Number(process.argv[2] ?? 8081), '127.0.0.1', () => {
  console.log(JSON.stringify({ event: 'listening', port: server.address().port }));
});
process.on('SIGTERM', () => server.close(() => process.exit(0)));
process.on('SIGINT', () => server.close(() => process.exit(0)));
