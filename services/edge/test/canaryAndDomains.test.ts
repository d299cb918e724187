import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseConfig } from '@turnpike/config';
import type { Edge } from '@turnpike/edge';
import { startUpstream, type Upstream } from '@turnpike/testing';
import { issuesOf } from '../../../shared/config/test/issues.js';
import { rawRequest, startEdge } from './fixtures.js';

/** Stage canaries and custom-domain base path mappings written in a config file (docs/versions.md). */
let edge: Edge;
let upstream: Upstream;
beforeAll(async () => {
  upstream = await startUpstream((req, res) => res.end(req.url));
  edge = await startEdge(`
apis:
  - name: shop
    stages:
      prod: { variables: { v: stable }, canary: { percent: 50, variables: { v: canary } } }
      beta: { variables: { v: beta } }
    routes:
      GET /v: { integration: { type: mock, body: 'shop' } }
      GET /which: { integration: { type: http_proxy, uri: '${upstream.url}/\${stageVariables.v}' } }
  - name: shop2
    basePath: /two
    stages: { prod: {} }
    routes:
      GET /v: { integration: { type: mock, body: 'shop2' } }
domains:
  api.example.com:
    v1: { api: shop, stage: beta }
    v2: { api: shop2, stage: prod }
    (none): { api: shop, stage: prod }
`);
});
afterAll(async () => {
  await edge?.stop(1000);
  await upstream?.close();
});

describe('a canary with the stage\'s own routes', () => {
  it('sends its share of requests to the canary side, which sees the canary variables', async () => {
    const seen: Record<string, number> = {};
    for (let i = 0; i < 400; i++) {
      const r = await rawRequest(edge.port, { path: '/prod/which' });
      expect(r.status).toBe(200);
      seen[r.body.toString()] = (seen[r.body.toString()] ?? 0) + 1;
    }
    expect(Object.keys(seen).sort()).toEqual(['/canary', '/stable']);
    // 50 % of 400: the standard deviation is 10 requests; 6 of them either way is never reached by chance.
    expect(seen['/canary']).toBeGreaterThan(140);
    expect(seen['/canary']).toBeLessThan(260);
    expect((await rawRequest(edge.port, { path: '/beta/which' })).body.toString()).toBe('/beta');
  });
});

describe('base path mappings', () => {
  it('routes a custom domain by its mappings only, and other hosts as before', async () => {
    const at = async (path: string, host: string) => {
      const r = await rawRequest(edge.port, { path, host });
      return `${r.status} ${r.status === 200 ? r.body.toString() : ''}`.trim();
    };
    expect(await at('/v1/v', 'api.example.com')).toBe('200 shop');
    expect(await at('/v2/v', 'api.example.com')).toBe('200 shop2');
    expect(await at('/v', 'api.example.com')).toBe('200 shop');
    // No such route on shop: a REST API's 403 Missing Authentication Token.
    expect(await at('/beta/v', 'api.example.com')).toBe('403');
    expect(await at('/beta/v', 'other.example.com')).toBe('200 shop');
  });

  it('refuses mappings to an API or stage that does not exist, naming the field', () => {
    const issues = issuesOf(() =>
      parseConfig(`
apis:
  - name: a
    stages: { prod: {} }
    routes: { GET /x: { integration: { type: mock } } }
domains:
  api.example.com:
    v1: { api: b, stage: prod }
    v2: { api: a, stage: test }
`),
    );
    expect(issues.map((i) => [i.path, i.message])).toEqual(
      expect.arrayContaining([
        ['domains.api.example.com.v1.api', 'no API named "b"'],
        ['domains.api.example.com.v2.stage', 'API "a" has no stage "test"'],
      ]),
    );
    const badKey = issuesOf(() => parseConfig(`
apis:
  - name: a
    stages: { prod: {} }
    routes: { GET /x: { integration: { type: mock } } }
domains: { api.example.com: { two/segments: { api: a, stage: prod } } }
`));
    expect(badKey.map((i) => [i.path, i.message])).toEqual([['domains.api.example.com.two/segments', 'base path "two/segments" is not (none) or one path segment']]);
  });

  it('refuses a table where two APIs serve one stage path, keeping the table served', async () => {
    const [a] = edge.config.apis;
    const clash = { ...edge.config, apis: [a!, { ...a!, name: 'other', stages: { beta: { variables: {} } } }] };
    expect(() => edge.swapRoutes(clash)).toThrow(/API "other" and API "shop" both serve \*\/beta/);
    expect((await rawRequest(edge.port, { path: '/beta/which' })).body.toString()).toBe('/beta');
  });

  it('takes an edge config without APIs only when it follows the control plane', () => {
    expect(issuesOf(() => parseConfig('gateway: { region: us-east-1 }')).map((i) => i.path)).toEqual(['apis']);
    expect(parseConfig('gateway: { control: { enabled: true } }').apis).toEqual([]);
  });
});
