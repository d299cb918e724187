import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ConfigError, loadConfig, parseConfig } from '@turnpike/config';
import { startUpstream, echoHandler, type Upstream } from '@turnpike/testing';
import type { Edge } from '@turnpike/edge';
import { rawRequest, startEdge } from './fixtures.js';

// Real edge, real upstream on loopback; the upstream counts what reaches it so a test can prove a
// preflight never did.
describe('CORS', () => {
  let upstream: Upstream;
  let hits = 0;
  let edge: Edge;

  beforeAll(async () => {
    upstream = await startUpstream((req, res) => {
      hits++;
      // A backend that does CORS itself: with CORS configured on the API, the gateway's answer replaces it.
      res.setHeader('access-control-allow-origin', '*');
      res.setHeader('access-control-allow-headers', 'x-from-upstream');
      echoHandler(req, res);
    });
    edge = await startEdge(`
apis:
  - name: app
    basePath: /app
    cors:
      allowOrigins: [https://app.example.com, "https://*.tenants.example.com", "http://localhost:3000"]
      allowMethods: [GET, PUT, POST]
      allowHeaders: [content-type, x-custom]
      exposeHeaders: [x-amzn-requestid, x-upstream]
      maxAge: 600
      allowCredentials: true
    routes:
      GET /things/{id}: { integration: { type: http_proxy, uri: "${upstream.url}/things/{id}" } }
      PUT /things/{id}: { integration: { type: http_proxy, uri: "${upstream.url}/things/{id}" } }
      GET /down: { integration: { type: http_proxy, uri: "http://127.0.0.1:1/down" } }
  - name: open
    basePath: /open
    cors: { allowOrigins: ["*"], allowHeaders: ["*"] }
    routes:
      GET /x: { integration: { type: mock, body: '{"ok":true}' } }
  - name: plain
    basePath: /plain
    routes:
      GET /x: { integration: { type: mock, body: '{"ok":true}' } }
`);
  });
  afterAll(async () => {
    await edge?.stop(1000);
    await upstream?.close();
  });

  it('answers a preflight itself, without calling the integration', async () => {
    const before = hits;
    const r = await rawRequest(edge.port, {
      method: 'OPTIONS',
      path: '/app/things/1',
      headers: { origin: 'https://app.example.com', 'access-control-request-method': 'PUT', 'access-control-request-headers': 'x-custom,content-type' },
    });
    expect(r.status).toBe(204);
    expect(r.headers['access-control-allow-origin']).toBe('https://app.example.com');
    expect(r.headers['access-control-allow-credentials']).toBe('true');
    expect(r.headers['access-control-allow-methods']).toBe('GET,PUT,POST');
    expect(r.headers['access-control-allow-headers']).toBe('content-type,x-custom');
    expect(r.headers['access-control-max-age']).toBe('600');
    expect(r.headers.vary).toMatch(/Origin/);
    expect(r.headers['x-amzn-requestid']).toBeTruthy();
    expect(hits).toBe(before);
  });

  it('answers a preflight for a path no route matches (a preflight needs no route)', async () => {
    const r = await rawRequest(edge.port, { method: 'OPTIONS', path: '/app/nowhere', headers: { origin: 'https://app.example.com', 'access-control-request-method': 'GET' } });
    expect(r.status).toBe(204);
    expect(r.headers['access-control-allow-origin']).toBe('https://app.example.com');
  });

  it('refuses a preflight from an origin not allowed: 204 without CORS headers', async () => {
    const before = hits;
    const r = await rawRequest(edge.port, { method: 'OPTIONS', path: '/app/things/1', headers: { origin: 'https://evil.example.net', 'access-control-request-method': 'PUT' } });
    expect(r.status).toBe(204);
    expect(r.headers['access-control-allow-origin']).toBeUndefined();
    expect(r.headers['access-control-allow-methods']).toBeUndefined();
    expect(hits).toBe(before);
  });

  it('adds CORS headers and Vary: Origin to actual responses from the integration', async () => {
    const r = await rawRequest(edge.port, { path: '/app/things/7', headers: { origin: 'https://app.example.com' } });
    expect(r.status).toBe(200);
    expect(r.headers['access-control-allow-origin']).toBe('https://app.example.com');
    expect(r.headers['access-control-allow-credentials']).toBe('true');
    expect(r.headers['access-control-expose-headers']).toBe('x-amzn-requestid,x-upstream');
    expect(r.headers['access-control-allow-headers']).toBeUndefined();
    expect(r.headers.vary).toMatch(/Origin/);
    expect(JSON.parse(r.body.toString()).url).toBe('/things/7');
  });

  it('matches wildcard subdomains at any depth, but not the bare domain, another scheme or a look-alike', async () => {
    const allowed = async (origin: string) => (await rawRequest(edge.port, { path: '/app/things/1', headers: { origin } })).headers['access-control-allow-origin'];
    expect(await allowed('https://acme.tenants.example.com')).toBe('https://acme.tenants.example.com');
    expect(await allowed('https://eu.acme.tenants.example.com')).toBe('https://eu.acme.tenants.example.com');
    expect(await allowed('https://tenants.example.com')).toBeUndefined();
    expect(await allowed('http://acme.tenants.example.com')).toBeUndefined();
    expect(await allowed('https://acme.tenants.example.com.evil.net')).toBeUndefined();
    expect(await allowed('https://x/y.tenants.example.com')).toBeUndefined();
    expect(await allowed('http://localhost:3000')).toBe('http://localhost:3000');
    expect(await allowed('http://localhost:3001')).toBeUndefined();
  });

  it('sends only Vary: Origin to an origin not allowed, and the request still runs', async () => {
    const r = await rawRequest(edge.port, { path: '/app/things/1', headers: { origin: 'https://evil.example.net' } });
    expect(r.status).toBe(200);
    expect(r.headers['access-control-allow-origin']).toBeUndefined();
    expect(r.headers.vary).toMatch(/Origin/);
  });

  it('puts CORS headers on gateway-generated errors (unknown path or method, 502)', async () => {
    const origin = 'https://app.example.com';
    for (const [method, path, status] of [['GET', '/app/nope', 403], ['DELETE', '/app/things/1', 403], ['GET', '/app/down', 502]] as const) {
      const r = await rawRequest(edge.port, { method, path, headers: { origin } });
      expect(r.status, `${method} ${path}`).toBe(status);
      expect(r.headers['access-control-allow-origin'], `${method} ${path}`).toBe(origin);
      expect(r.headers['access-control-allow-credentials']).toBe('true');
      expect(JSON.parse(r.body.toString()).message).toBeTruthy();
    }
  });

  it('answers * for any origin when credentials are off', async () => {
    const r = await rawRequest(edge.port, { path: '/open/x', headers: { origin: 'https://whoever.example' } });
    expect(r.headers['access-control-allow-origin']).toBe('*');
    expect(r.headers['access-control-allow-credentials']).toBeUndefined();
    const pre = await rawRequest(edge.port, { method: 'OPTIONS', path: '/open/x', headers: { origin: 'https://whoever.example', 'access-control-request-method': 'DELETE', 'access-control-request-headers': 'x-a' } });
    expect(pre.status).toBe(204);
    expect(pre.headers['access-control-allow-methods']).toBe('DELETE');
    expect(pre.headers['access-control-allow-headers']).toBe('x-a');
  });

  it('adds nothing to an API without a cors block, and leaves its OPTIONS to routing', async () => {
    const r = await rawRequest(edge.port, { path: '/plain/x', headers: { origin: 'https://app.example.com' } });
    expect(r.headers['access-control-allow-origin']).toBeUndefined();
    expect(r.headers.vary).toBeUndefined();
    const pre = await rawRequest(edge.port, { method: 'OPTIONS', path: '/plain/x', headers: { origin: 'https://app.example.com', 'access-control-request-method': 'GET' } });
    expect(pre.status).toBe(403);
  });
});

describe('CORS configuration', () => {
  const api = (cors: string) => `
apis:
  - name: a
    cors: ${cors}
    routes:
      GET /x: { integration: { type: mock } }
`;
  const issues = (yaml: string) => {
    try {
      parseConfig(yaml, 'cors.yaml');
    } catch (err) {
      if (err instanceof ConfigError) return err.issues;
      throw err;
    }
    return [];
  };

  it('refuses * together with credentials, naming the file, the field and the line', () => {
    const found = issues(api('{ allowOrigins: ["*"], allowCredentials: true }'));
    expect(found).toHaveLength(1);
    expect(found[0]).toMatchObject({ path: 'apis[0].cors.allowCredentials', line: 4 });
    expect(found[0]?.file).toMatch(/cors\.yaml$/);
    expect(found[0]?.message).toMatch(/cannot be combined with allowOrigins "\*"/);
  });

  it('refuses origins with a path, bad methods and bad max ages', () => {
    const found = issues(api('{ allowOrigins: ["https://a.example.com/"], allowMethods: [FETCH], maxAge: -1 }'));
    expect(found.map((i) => i.path).sort()).toEqual(['apis[0].cors.allowMethods[0]', 'apis[0].cors.allowOrigins[0]', 'apis[0].cors.maxAge']);
  });

  it('imports x-amazon-apigateway-cors from OpenAPI, and a Turnpike cors block wins over it', () => {
    const dir = mkdtempSync(join(tmpdir(), 'tp-cors-'));
    const oas = {
      openapi: '3.0.1',
      info: { title: 'pets' },
      'x-amazon-apigateway-cors': { allowOrigins: ['https://pets.example.com'], allowMethods: ['get', 'options'], allowHeaders: ['authorization'], maxAge: 300, allowCredentials: true, exposeHeaders: ['x-total'] },
      paths: { '/pets': { get: { 'x-amazon-apigateway-integration': { type: 'mock' } } } },
    };
    writeFileSync(join(dir, 'pets.json'), JSON.stringify(oas));
    const fromOas = loadConfig(join(dir, 'pets.json'));
    expect(fromOas.apis[0]?.cors).toEqual({ allowOrigins: ['https://pets.example.com'], allowMethods: ['GET', 'OPTIONS'], allowHeaders: ['authorization'], exposeHeaders: ['x-total'], maxAge: 300, allowCredentials: true });
    expect(fromOas.warnings.filter((w) => w.message.includes('cors'))).toEqual([]);

    writeFileSync(join(dir, 'turnpike.yaml'), 'apis:\n  - name: pets\n    openapi: pets.json\n    cors: { allowOrigins: ["https://other.example.com"] }\n');
    expect(loadConfig(join(dir, 'turnpike.yaml')).apis[0]?.cors?.allowOrigins).toEqual(['https://other.example.com']);
    writeFileSync(join(dir, 'imported.yaml'), 'apis:\n  - name: pets\n    openapi: pets.json\n');
    expect(loadConfig(join(dir, 'imported.yaml')).apis[0]?.cors?.allowOrigins).toEqual(['https://pets.example.com']);

    writeFileSync(join(dir, 'bad.json'), JSON.stringify({ ...oas, 'x-amazon-apigateway-cors': { allowOrigins: ['*'], allowCredentials: true } }));
    expect(() => loadConfig(join(dir, 'bad.json'))).toThrow(/x-amazon-apigateway-cors\.allowCredentials: allowCredentials cannot be combined/);
  });
});
