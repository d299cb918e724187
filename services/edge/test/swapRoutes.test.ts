import { afterAll, beforeAll, expect, it } from 'vitest';
import { parseConfig } from '@turnpike/config';
import type { Edge } from '@turnpike/edge';
import { startUpstream, type Upstream } from '@turnpike/testing';
import { rawRequest, startEdge } from './fixtures.js';

let slow: Upstream;
let edge: Edge;
let arrived: (() => void) | null = null;
let release: (() => void) | null = null;

beforeAll(async () => {
  slow = await startUpstream((_req, res) => {
    release = () => res.end('old table');
    arrived?.();
  });
  edge = await startEdge(`
apis:
  - name: a
    routes:
      GET /slow: { integration: { type: http_proxy, uri: "${slow.url}/slow" } }
`);
});
afterAll(async () => {
  await edge?.stop(1000);
  await slow?.close();
});

it('swaps the route table in one step: in-flight requests finish on the old one, new ones see the new one', async () => {
  const upstreamHasIt = new Promise<void>((resolve) => (arrived = resolve));
  const inFlight = rawRequest(edge.port, { path: '/slow' });
  await upstreamHasIt;
  edge.swapRoutes(parseConfig(`
apis:
  - name: a
    routes:
      GET /fresh: { integration: { type: mock, body: '{"table":"new"}' } }
`));
  expect((await rawRequest(edge.port, { path: '/slow' })).status).toBe(403); // the new table has no /slow
  expect((await rawRequest(edge.port, { path: '/fresh' })).body.toString()).toBe('{"table":"new"}');
  release!();
  const r = await inFlight;
  expect(r.status).toBe(200);
  expect(r.body.toString()).toBe('old table');
});

it('swaps the request limits with the routes: everything the request path reads comes from the new config', async () => {
  const local = await startEdge(`
apis:
  - name: a
    routes:
      POST /echo: { integration: { type: http_proxy, uri: "${slow.url}/echo" } }
`);
  try {
    const next = parseConfig(`
gateway: { maxBodyBytes: 100, maxHeaderBytes: 2048 }
apis:
  - name: a
    routes:
      POST /echo: { integration: { type: mock, body: '{"swapped":true}' } }
`);
    local.swapRoutes(next);
    expect(local.config).toBe(next);
    expect((await rawRequest(local.port, { method: 'POST', path: '/echo', body: 'x'.repeat(200) })).status).toBe(413);
    expect((await rawRequest(local.port, { method: 'POST', path: '/echo', headers: { 'x-big': 'b'.repeat(3000) } })).status).toBe(431);
    expect((await rawRequest(local.port, { method: 'POST', path: '/echo', body: 'x'.repeat(50) })).body.toString()).toBe('{"swapped":true}');
  } finally {
    await local.stop(1000);
  }
});
