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
  expect((await rawRequest(edge.port, { path: '/slow' })).status).toBe(404);
  expect((await rawRequest(edge.port, { path: '/fresh' })).body.toString()).toBe('{"table":"new"}');
  release!();
  const r = await inFlight;
  expect(r.status).toBe(200);
  expect(r.body.toString()).toBe('old table');
});
