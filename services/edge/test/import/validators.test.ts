import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Edge } from '@turnpike/edge';
import { echoHandler, freePort, startUpstream, type Upstream } from '@turnpike/testing';
import { json, rawRequest, startEdge } from '../fixtures.js';

/** test/fixtures/openapi/validators-swagger2.yaml: request validators rejecting and admitting, through a running edge. */
let upstream: Upstream;
let edge: Edge;

beforeAll(async () => {
  upstream = await startUpstream(echoHandler);
  edge = await startEdge(`
apis:
  - name: validated
    openapi: ${join(__dirname, '../../../../test/fixtures/openapi/validators-swagger2.yaml')}
    stages: { v1: { variables: { upstream: "${upstream.url}", down: "http://127.0.0.1:${await freePort()}" } } }
    authorizers:
      idp: { type: jwt, issuer: "https://idp.example", audiences: [pets] }
    routes:
      GET /locked: { authorizer: idp, integration: { type: mock, body: secret } }
      GET /limited: { throttle: { rateLimit: 1, burstLimit: 1 }, integration: { type: mock, body: ok } }
`);
});
afterAll(async () => {
  await edge?.stop();
  upstream?.close();
});

const post = (body: string, type = 'application/json') => rawRequest(edge.port, { method: 'POST', path: '/v1/pets', headers: { 'content-type': type }, body });

describe('request validators', () => {
  it('admits a body satisfying the model and still proxies it whole', async () => {
    const r = await post('{"type":"dog","price":12.5}');
    expect(r.status, r.body.toString()).toBe(200);
    expect(Buffer.from(json(r).body, 'base64').toString()).toBe('{"type":"dog","price":12.5}');
  });

  it('rejects a body that breaks the model, or is not JSON, through the BAD_REQUEST_BODY gateway response', async () => {
    for (const body of ['{"type":"horse","price":1}', '{"type":"dog"}', 'not json', '']) {
      const r = await post(body);
      expect(r.status, body).toBe(422);
      expect(json(r)).toEqual({ error: 'Invalid request body', type: 'BAD_REQUEST_BODY' });
      expect(r.headers['x-request-id']).toMatch(/.+/);
    }
  });

  it('names missing required query strings and headers', async () => {
    const r = await rawRequest(edge.port, { path: '/v1/search?page=2' });
    expect(r.status).toBe(400);
    expect(json(r)).toEqual({ message: 'Missing required request parameters: [q, X-Tenant]' });
    // DEFAULT_4XX adds its header and keeps API Gateway's body.
    expect(r.headers['access-control-allow-origin']).toBe('*');
    const ok = await rawRequest(edge.port, { path: '/v1/search?q=cats', headers: { 'x-tenant': 'acme' } });
    expect(ok.status).toBe(200);
    expect(json(ok)).toEqual({ q: 'cats' });
  });

  it('does not validate an operation whose validator is turned off', async () => {
    expect((await rawRequest(edge.port, { path: '/v1/free' })).status).toBe(200);
  });
});

describe('gateway responses', () => {
  it('shape a 401 with UNAUTHORIZED and a 429 with THROTTLED (plus DEFAULT_4XX nothing: the specific type wins)', async () => {
    const denied = await rawRequest(edge.port, { path: '/v1/locked' });
    expect(denied.status).toBe(401);
    expect(json(denied)).toEqual({ error: 'login required', type: 'UNAUTHORIZED' });
    expect(denied.headers['access-control-allow-origin']).toBeUndefined();
    const statuses: number[] = [];
    let throttled: Awaited<ReturnType<typeof rawRequest>> | undefined;
    for (let i = 0; i < 5 && !throttled; i++) {
      const r = await rawRequest(edge.port, { path: '/v1/limited' });
      statuses.push(r.status);
      if (r.status === 429) throttled = r;
    }
    expect(throttled, statuses.join(',')).toBeDefined();
    expect(throttled!.headers['retry-after']).toBe('1');
    expect(json(throttled!)).toEqual({ message: 'Too Many Requests' });
  });

  it('shape a 404 with DEFAULT_4XX and an integration failure with DEFAULT_5XX', async () => {
    const nf = await rawRequest(edge.port, { path: '/v1/nowhere' });
    expect(nf.status).toBeGreaterThanOrEqual(400);
    expect(nf.status).toBeLessThan(500);
    expect(nf.headers['access-control-allow-origin']).toBe('*');
    const down = await rawRequest(edge.port, { path: '/v1/down' });
    expect(down.status).toBe(503);
    expect(json(down)).toEqual({ oops: true, path: '/down' });
  });
});
