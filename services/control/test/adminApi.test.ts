import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ControlCallError, ControlClient } from '@turnpike/control';
import type { Edge } from '@turnpike/edge';
import type { StageRecord } from '@turnpike/redis';
import { mockApi, putAndDeploy, startControlPlane, status, type ControlPlane } from './fixtures.js';

let cp: ControlPlane;
beforeAll(async () => {
  cp = await startControlPlane('admin');
  await putAndDeploy(cp.client, 'shop', mockApi('v1'));
});
afterAll(async () => {
  await cp?.close();
});

describe('authentication and scopes', () => {
  it('refuses calls without a token, with a malformed, unknown or revoked one: 401 with a JSON error', async () => {
    const bare = await fetch(`${cp.url}/v1/apis`);
    expect(bare.status).toBe(401);
    expect(bare.headers.get('www-authenticate')).toMatch(/^Bearer/);
    expect(await bare.json()).toMatchObject({ error: { code: 'unauthenticated' } });
    // Unknown endpoints answer 401 too: nothing about the API's shape leaks without a token.
    expect((await fetch(`${cp.url}/v1/nothing-here`, { method: 'DELETE' })).status).toBe(401);
    expect(await status(new ControlClient(cp.url, 'not-a-token').call('GET', '/v1/apis'))).toBe(401);
    expect(await status(new ControlClient(cp.url, `tpa_abcdef_${'x'.repeat(40)}`).call('GET', '/v1/apis'))).toBe(401);

    const victim = await cp.clientWith(['apis:read']);
    expect(await status(victim.call('GET', '/v1/apis'))).toBe('ok');
    const { tokens } = await cp.client.call<{ tokens: { id: string; name: string }[] }>('GET', '/v1/tokens');
    const id = tokens.find((t) => t.name === 'test apis:read')!.id;
    expect(await status(cp.client.call('DELETE', `/v1/tokens/${id}`))).toBe('ok');
    expect(await status(victim.call('GET', '/v1/apis'))).toBe(401);
  });

  it('refuses calls outside a token\'s scopes with 403, and allows those inside', async () => {
    const reader = await cp.clientWith(['apis:read']);
    expect(await status(reader.call('GET', '/v1/apis/shop/stages'))).toBe('ok');
    expect(await status(reader.call('POST', '/v1/apis/shop/deployments', { body: { stage: 'prod' } }))).toBe(403);
    expect(await status(reader.call('PUT', '/v1/apis/shop/stages/prod/canary', { body: { deploymentId: 'x', percent: 5 } }))).toBe(403);
    expect(await status(reader.call('GET', '/v1/keys'))).toBe(403);
    expect(await status(reader.call('POST', '/v1/tokens', { body: { name: 'escalate', scopes: ['*'] } }))).toBe(403);

    const keys = await cp.clientWith(['keys:write']);
    expect(await status(keys.call('POST', '/v1/keys', { body: { name: 'k1' } }))).toBe('ok');
    expect(await status(keys.call('GET', '/v1/keys'))).toBe('ok');
    expect(await status(keys.call('GET', '/v1/apis'))).toBe(403);
    expect(await status(keys.call('GET', '/v1/credentials'))).toBe(403);
  });

  it('is never served by an edge\'s public listener', async () => {
    const edge: Edge = await cp.edge();
    const r = await fetch(`http://127.0.0.1:${edge.port}/v1/apis`, { headers: { authorization: `Bearer whatever` } });
    expect(r.status).toBe(404);
  });
});

describe('bad input', () => {
  it('answers an invalid definition with 400 and every problem by field path', async () => {
    const err = await cp.client.call('PUT', '/v1/apis/broken', { body: { definition: { routes: { 'FETCH /x': { integration: { type: 'mock' } } , 'GET /y': { integration: { type: 'nope' } } } } } }).catch((e: unknown) => e as ControlCallError);
    expect(err).toBeInstanceOf(ControlCallError);
    const issues = (err as ControlCallError & { body: { error: { issues: { path: string }[] } } }).body.error.issues.map((i) => i.path);
    expect((err as ControlCallError).status).toBe(400);
    expect(issues).toContain('definition.routes.GET /y.integration.type');
    expect(issues).toContain('definition.routes.FETCH /x');
    expect(await status(cp.client.call('PUT', '/v1/apis/bad%20name', { body: { definition: mockApi('x') } }))).toBe(400);
    expect(await status(cp.client.call('PUT', '/v1/apis/shop/stages/prod/canary', { body: { deploymentId: 'nope', percent: 10 } }))).toBe(404);
    expect(await status(cp.client.call('PUT', '/v1/apis/shop/stages/prod/canary', { body: { deploymentId: 'nope', percent: 101 } }))).toBe(400);
    expect(await status(cp.client.call('PATCH', '/v1/apis/shop/stages/nostage', { body: { variables: { a: 'b' } } }))).toBe(404);
    const text = await fetch(`${cp.url}/v1/apis/shop`, { method: 'PUT', headers: { authorization: `Bearer ${(cp.client as unknown as { token: string }).token}`, 'content-type': 'text/plain' }, body: 'hello' });
    expect(text.status).toBe(415);
  });

  it('refuses ${env:...} in an uploaded definition: the control service never substitutes its own environment', async () => {
    process.env.TP_TEST_CONTROL_SECRET = 'must-not-leak';
    try {
      const doc = {
        openapi: '3.0.1',
        info: { title: 'leak', version: '1' },
        paths: { '/x': { get: { 'x-amazon-apigateway-integration': { type: 'http_proxy', httpMethod: 'GET', uri: 'http://127.0.0.1:9/${env:TP_TEST_CONTROL_SECRET}' } } } },
      };
      const err = (await cp.client.call('PUT', '/v1/apis/leak', { body: { openapi: doc } }).catch((e: unknown) => e)) as ControlCallError & { body: { error: { issues: { path: string; message: string }[] } } };
      expect(err.status).toBe(400);
      expect(err.body.error.issues[0]?.message).toMatch(/^\$\{env:TP_TEST_CONTROL_SECRET\} is resolved where a file is loaded/);
      expect(JSON.stringify(err.body)).not.toContain('must-not-leak');
      // As YAML text (the console's upload), with a default: refused all the same.
      const yaml = `openapi: 3.0.1\ninfo: { title: leak, version: "1" }\npaths:\n  /x:\n    get:\n      x-amazon-apigateway-integration: { type: http_proxy, httpMethod: GET, uri: "http://h/\${env:TP_TEST_CONTROL_SECRET:-x}" }\n`;
      expect(await status(cp.client.call('PUT', '/v1/apis/leak', { body: { openapi: yaml } }))).toBe(400);
      const def = (await cp.client.call('PUT', '/v1/apis/leak', { body: { definition: mockApi('${env:TP_TEST_CONTROL_SECRET}') } }).catch((e: unknown) => e)) as ControlCallError & { body: { error: { issues: { path: string }[] } } };
      expect(def.status).toBe(400);
      expect(def.body.error.issues.map((i) => i.path)).toEqual(['definition.routes.GET /which.integration.body']);
      expect(await status(cp.client.call('GET', '/v1/apis/leak'))).toBe(404);
    } finally {
      delete process.env.TP_TEST_CONTROL_SECRET;
    }
  });
});

describe('concurrent changes', () => {
  it('lets exactly one of two writers holding the same version win; the other gets 409 with the current version', async () => {
    const s = await cp.client.call<StageRecord>('GET', '/v1/apis/shop/stages/prod');
    const a = cp.client.call('PATCH', '/v1/apis/shop/stages/prod', { body: { variables: { who: 'alice' } }, ifMatch: s.version });
    const b = cp.client.call('PATCH', '/v1/apis/shop/stages/prod', { body: { variables: { who: 'bob' } }, ifMatch: s.version });
    const results = await Promise.allSettled([a, b]);
    const won = results.filter((r) => r.status === 'fulfilled');
    const lost = results.filter((r): r is PromiseRejectedResult => r.status === 'rejected');
    expect(won).toHaveLength(1);
    expect(lost).toHaveLength(1);
    expect(lost[0]?.reason).toMatchObject({ status: 409, code: 'conflict' });
    expect((lost[0]?.reason as ControlCallError).body).toMatchObject({ error: { currentVersion: s.version + 1 } });
    const after = await cp.client.call<StageRecord>('GET', '/v1/apis/shop/stages/prod');
    expect(after.version).toBe(s.version + 1);
  });

  it('never loses an update between many operators without If-Match: each change is applied or refused', async () => {
    const n = 20;
    const results = await Promise.allSettled(Array.from({ length: n }, (_, i) => cp.client.call('PATCH', '/v1/apis/shop/stages/prod', { body: { variables: { [`op${i}`]: 'x' } } })));
    const applied = results.map((r, i) => (r.status === 'fulfilled' ? `op${i}` : null)).filter((x): x is string => x !== null);
    for (const r of results) if (r.status === 'rejected') expect(r.reason).toMatchObject({ status: 409 });
    const after = await cp.client.call<StageRecord>('GET', '/v1/apis/shop/stages/prod');
    expect(Object.keys(after.variables).filter((k) => k.startsWith('op')).sort()).toEqual(applied.sort());
    expect(applied.length).toBeGreaterThan(0);
  });

  it('detects a concurrent change of an API definition (If-Match on PUT)', async () => {
    const api = await cp.client.call<{ version: number }>('GET', '/v1/apis/shop');
    await cp.client.call('PUT', '/v1/apis/shop', { body: { definition: mockApi('v2') }, ifMatch: api.version });
    expect(await status(cp.client.call('PUT', '/v1/apis/shop', { body: { definition: mockApi('v3') }, ifMatch: api.version }))).toBe(409);
  });
});

describe('the stores a console needs besides versions', () => {
  it('manages keys, plans, usage, credentials, connections and tokens over HTTP', async () => {
    const key = await cp.client.call<{ id: string; value: string; enabled: boolean }>('POST', '/v1/keys', { body: { name: 'console key' } });
    expect(key.value).toMatch(/^[A-Za-z0-9_-]{40}$/);
    expect((await cp.client.call<{ enabled: boolean }>('PATCH', `/v1/keys/${key.id}`, { body: { enabled: false } })).enabled).toBe(false);
    const plan = await cp.client.call<{ id: string }>('POST', '/v1/plans', { body: { name: 'gold', throttle: { rateLimit: 10, burstLimit: 20 }, quota: { limit: 1000, period: 'DAY' }, apiStages: [{ apiId: 'shop', stage: 'prod' }] } });
    expect((await cp.client.call<{ planIds: string[] }>('POST', `/v1/plans/${plan.id}/keys`, { body: { keyId: key.id } })).planIds).toEqual([plan.id]);
    expect((await cp.client.call<{ plans: { id: string }[] }>('GET', '/v1/plans')).plans.map((p) => p.id)).toContain(plan.id);
    const usage = await cp.client.call<{ usage: unknown[] }>('GET', `/v1/usage?keyId=${key.id}&from=2026-11-01&to=2026-11-30`);
    expect(usage.usage).toEqual([]);
    expect(await status(cp.client.call('GET', `/v1/usage?keyId=${key.id}&from=2026-11-30&to=2026-11-01`))).toBe(400);
    expect(await status(cp.client.call('GET', '/v1/keys/nope'))).toBe(404);

    const cred = await cp.client.call<{ accessKeyId: string; secretAccessKey: string }>('POST', '/v1/credentials', { body: { description: 'ci' } });
    expect(cred.secretAccessKey).toHaveLength(40);
    const { credentials } = await cp.client.call<{ credentials: Record<string, unknown>[] }>('GET', '/v1/credentials');
    expect(credentials.find((c) => c.accessKeyId === cred.accessKeyId)).not.toHaveProperty('secretAccessKey');
    expect(await status(cp.client.call('DELETE', `/v1/credentials/${cred.accessKeyId}`))).toBe('ok');
    expect(await status(cp.client.call('DELETE', `/v1/credentials/${cred.accessKeyId}`))).toBe(404);

    expect(await status(cp.client.call('GET', '/v1/connections/abc'))).toBe(404);
    const { tokens } = await cp.client.call<{ tokens: Record<string, unknown>[] }>('GET', '/v1/tokens');
    for (const t of tokens) expect(Object.keys(t).sort()).toEqual(['createdAt', 'createdBy', 'id', 'name', 'scopes']);
  });
});
