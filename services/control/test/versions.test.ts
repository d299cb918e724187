import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Pool } from 'undici';
import type { Edge } from '@turnpike/edge';
import type { StageRecord } from '@turnpike/redis';
import { ControlCallError } from '@turnpike/control';
import { startUpstream, type Upstream } from '@turnpike/testing';
import { baseConfig, loadedRevision, mockApi, putAndDeploy, startControlPlane, type ControlPlane } from './fixtures.js';

let cp: ControlPlane;
let edge: Edge;
let pool: Pool;
let upstream: Upstream;
const dir = mkdtempSync(join(tmpdir(), 'tp-versions-'));
const accessLog = join(dir, 'access.log');

beforeAll(async () => {
  cp = await startControlPlane('versions');
  // Echoes the path it was asked for: which upstream URL the stage variables built.
  upstream = await startUpstream((req, res) => res.end(JSON.stringify({ path: req.url })));
  edge = await cp.edge({ config: baseConfig({ accessLog: { destination: accessLog, format: '{"stage":"$context.stage","canary":"$context.isCanaryRequest","deployment":"$context.deploymentId"}' } }) });
  pool = new Pool(`http://127.0.0.1:${edge.port}`, { connections: 16 });
});
afterAll(async () => {
  await pool?.close();
  await cp?.close();
  await upstream?.close();
  rmSync(dir, { recursive: true, force: true });
});

async function get(path: string, host?: string): Promise<{ status: number; body: string }> {
  const r = await pool.request({ method: 'GET', path, headers: host ? { host } : {} });
  return { status: r.statusCode, body: await r.body.text() };
}

async function settle(): Promise<void> {
  const { revision } = await cp.client.call<{ revision: number }>('GET', '/v1/revision');
  const r = await loadedRevision(edge, revision);
  expect(r.ok).toBe(true);
}

describe('deploy and rollback', () => {
  it('serves a deployment, the next one after a redeploy, and the previous one after a rollback', async () => {
    const first = await putAndDeploy(cp.client, 'shop', mockApi('v1'));
    await settle();
    expect(await get('/prod/which')).toEqual({ status: 200, body: 'v1' });

    const second = await putAndDeploy(cp.client, 'shop', mockApi('v2'));
    expect(second.deployment.id).not.toBe(first.deployment.id);
    expect(second.deployment.hash).not.toBe(first.deployment.hash);
    await settle();
    expect(await get('/prod/which')).toEqual({ status: 200, body: 'v2' });

    const back = await cp.client.call<StageRecord>('POST', '/v1/apis/shop/stages/prod/rollback', { body: {} });
    expect(back.deploymentId).toBe(first.deployment.id);
    await settle();
    expect(await get('/prod/which')).toEqual({ status: 200, body: 'v1' });

    const forward = await cp.client.call<StageRecord>('POST', '/v1/apis/shop/stages/prod/rollback', { body: { deploymentId: second.deployment.id } });
    expect(forward.deploymentId).toBe(second.deployment.id);
    await settle();
    expect(await get('/prod/which')).toEqual({ status: 200, body: 'v2' });

    const { history } = await cp.client.call<{ history: { action: string; deploymentId: string }[] }>('GET', '/v1/apis/shop/stages/prod/history');
    expect(history.map((h) => [h.action, h.deploymentId])).toEqual([
      ['rollback', second.deployment.id],
      ['rollback', first.deployment.id],
      ['deploy', second.deployment.id],
      ['deploy', first.deployment.id],
    ]);
    const diff = await cp.client.call<{ changes: { path: string; change: string; from: unknown; to: unknown }[] }>('GET', `/v1/apis/shop/deployments/${first.deployment.id}/diff/${second.deployment.id}`);
    expect(diff.changes).toEqual([{ path: 'routes.GET /which.integration.body', change: 'changed', from: 'v1', to: 'v2' }]);
  });

  it('keeps deployments immutable: redefining the API changes nothing served until a deploy', async () => {
    await cp.client.call('PUT', '/v1/apis/shop', { body: { definition: mockApi('not deployed') } });
    await settle();
    expect((await get('/prod/which')).body).toBe('v2');
  });
});

describe('canary', () => {
  let stable: string;
  let canary: string;

  beforeAll(async () => {
    const uri = `${upstream.url}/\${stageVariables.color}/{proxy}`;
    stable = (await putAndDeploy(cp.client, 'paint', { routes: { 'GET /which': { integration: { type: 'mock', body: 'stable' } }, 'GET /color/{proxy+}': { integration: { type: 'http_proxy', uri } } }, stages: { live: { variables: { color: 'blue' } } } }, 'live')).deployment.id;
    await cp.client.call('PUT', '/v1/apis/paint', { body: { definition: { routes: { 'GET /which': { integration: { type: 'mock', body: 'canary' } }, 'GET /color/{proxy+}': { integration: { type: 'http_proxy', uri } } } } } });
    canary = (await cp.client.call<{ deployment: { id: string } }>('POST', '/v1/apis/paint/deployments', { body: { description: 'v2' } })).deployment.id;
    await cp.client.call('PUT', '/v1/apis/paint/stages/live/canary', { body: { deploymentId: canary, percent: 10, variables: { color: 'green' } } });
    await settle();
  });

  it('sends 10 % of 10,000 requests (within ±3 %) to the canary, with its variables, and says so in the access log', async () => {
    const N = 10_000;
    let canaryCount = 0;
    let i = 0;
    const worker = async () => {
      while (i++ < N) {
        const r = await get('/live/which');
        expect(r.status).toBe(200);
        if (r.body === 'canary') canaryCount++;
        else expect(r.body).toBe('stable');
      }
    };
    await Promise.all(Array.from({ length: 16 }, worker));
    const share = (canaryCount / N) * 100;
    expect(share).toBeGreaterThanOrEqual(7);
    expect(share).toBeLessThanOrEqual(13);
    console.log(`canary share over ${N} requests: ${share.toFixed(2)} % (asked 10 %)`);

    // Canary variables: green only on the canary side, the stage's blue elsewhere.
    const seen = new Map<string, number>();
    for (let k = 0; k < 400; k++) {
      const path = JSON.parse((await get('/live/color/x')).body).path as string;
      seen.set(path, (seen.get(path) ?? 0) + 1);
    }
    expect([...seen.keys()].sort()).toEqual(['/blue/x', '/green/x']);

    const lines = readFileSync(accessLog, 'utf8').trim().split('\n').map((l) => JSON.parse(l) as { stage: string; canary: string; deployment: string });
    const live = lines.filter((l) => l.stage === 'live');
    expect(new Set(live.filter((l) => l.canary === 'true').map((l) => l.deployment))).toEqual(new Set([canary]));
    expect(new Set(live.filter((l) => l.canary === 'false').map((l) => l.deployment))).toEqual(new Set([stable]));

    const metrics = await (await fetch(`http://127.0.0.1:${edge.managementPort}/metrics`)).text();
    expect(metrics).toMatch(/turnpike_requests_total\{[^}]*stage="live"[^}]*canary="true"/);
  });

  it('promotes the canary: every request then gets its routes and variables', async () => {
    const s = await cp.client.call<StageRecord>('POST', '/v1/apis/paint/stages/live/canary/promote');
    expect(s).toMatchObject({ deploymentId: canary, canary: null, variables: { color: 'green' } });
    await settle();
    for (let k = 0; k < 50; k++) expect((await get('/live/which')).body).toBe('canary');
    expect(JSON.parse((await get('/live/color/y')).body).path).toBe('/green/y');
  });

  it('rolls the promotion back to the stable deployment', async () => {
    const s = await cp.client.call<StageRecord>('POST', '/v1/apis/paint/stages/live/rollback', { body: {} });
    expect(s.deploymentId).toBe(stable);
    await settle();
    for (let k = 0; k < 50; k++) expect((await get('/live/which')).body).toBe('stable');
  });
});

describe('base path mappings', () => {
  it('serves two versions side by side under one custom domain, and the root mapping', async () => {
    await putAndDeploy(cp.client, 'orders', mockApi('orders v1', { basePath: '/orders' }));
    await putAndDeploy(cp.client, 'orders2', mockApi('orders v2', { basePath: '/orders2' }));
    await cp.client.call('PUT', '/v1/domains/api.example.com/mappings/v1', { body: { api: 'orders', stage: 'prod' } });
    await cp.client.call('PUT', '/v1/domains/api.example.com/mappings/v2', { body: { api: 'orders2', stage: 'prod' } });
    await cp.client.call('PUT', '/v1/domains/api.example.com/mappings/(none)', { body: { api: 'orders2', stage: 'prod' } });
    await settle();
    expect(await get('/v1/which', 'api.example.com')).toEqual({ status: 200, body: 'orders v1' });
    expect(await get('/v2/which', 'api.example.com')).toEqual({ status: 200, body: 'orders v2' });
    expect(await get('/which', 'api.example.com:443')).toEqual({ status: 200, body: 'orders v2' });
    // On the custom domain only its mappings route: the stage path is not served there (the root mapping's
    // REST API has no such route: 403 Missing Authentication Token).
    expect((await get('/prod/which', 'api.example.com')).status).toBe(403);
    // Elsewhere the stages are where they always are.
    expect(await get('/orders/prod/which')).toEqual({ status: 200, body: 'orders v1' });

    const { status } = await cp.client.call<{ status?: number }>('DELETE', '/v1/domains/api.example.com/mappings/v1').then(() => ({ status: 204 }));
    expect(status).toBe(204);
    await settle();
    expect((await get('/v1/which', 'api.example.com')).status).toBe(403);
  });
});

describe('a deployment that does not compile', () => {
  it('leaves the previous deployment serving and reports the refusal on /readyz and /metrics', async () => {
    await putAndDeploy(cp.client, 'fragile', mockApi('good', { basePath: '/fragile' }));
    await settle();
    expect((await get('/fragile/prod/which')).body).toBe('good');

    // Valid by the schema, but the stage has no `upstream` variable: the edge cannot build the route.
    await putAndDeploy(cp.client, 'fragile', { basePath: '/fragile', routes: { 'GET /which': { integration: { type: 'http_proxy', uri: '${stageVariables.upstream}/x' } } } });
    const { revision } = await cp.client.call<{ revision: number }>('GET', '/v1/revision');
    expect(await loadedRevision(edge, revision)).toEqual({ revision, ok: false });

    expect(await get('/fragile/prod/which')).toEqual({ status: 200, body: 'good' });
    expect((await get('/live/which')).status).toBe(200);
    const ready = await (await fetch(`http://127.0.0.1:${edge.managementPort}/readyz`)).json() as { checks: { control: string } };
    expect(ready.checks.control).toMatch(new RegExp(`revision ${revision} refused: .*undefined stage variable\\(s\\) upstream`));
    const metrics = await (await fetch(`http://127.0.0.1:${edge.managementPort}/metrics`)).text();
    expect(metrics).toMatch(/turnpike_control_reloads_total\{result="failed"[^}]*\} [1-9]/);

    // Giving the stage the variable fixes the same deployment.
    await cp.client.call('PATCH', '/v1/apis/fragile/stages/prod', { body: { variables: { upstream: upstream.url } } });
    await settle();
    expect(JSON.parse((await get('/fragile/prod/which')).body)).toEqual({ path: '/x' });
    const after = await (await fetch(`http://127.0.0.1:${edge.managementPort}/readyz`)).json() as { checks: { control: string } };
    expect(after.checks.control).not.toMatch(/refused/);
  });
});

describe('two APIs claiming one path', () => {
  it('refuses the deploy up front, naming the API that has the path', async () => {
    await cp.client.call('PUT', '/v1/apis/squatter', { body: { definition: mockApi('squatter') } });
    const err = await cp.client.call('POST', '/v1/apis/squatter/deployments', { body: { stage: 'prod' } }).catch((e: unknown) => e as ControlCallError);
    expect(err).toMatchObject({ status: 400, message: expect.stringMatching(/API "shop" already serves stage "prod" at host \*, base path \//) });
    await cp.client.call('PUT', '/v1/apis/squatter', { body: { definition: mockApi('squatter', { basePath: '/squat' }) } });
    await putAndDeploy(cp.client, 'squatter', mockApi('squatter', { basePath: '/squat' }));
    await settle();
    expect((await get('/squat/prod/which')).body).toBe('squatter');
    expect((await get('/prod/which')).body).toBe('v2');
  });
});
