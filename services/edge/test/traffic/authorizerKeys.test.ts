import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ConfigError, parseConfig } from '@turnpike/config';
import type { Edge } from '@turnpike/edge';
import { SHARED_REDIS_URL, deletePrefix, spawnTurnpike, testPrefix, type TurnpikeProcess } from '@turnpike/testing';
import { TestClock, eventually, get, keyInPlan, openStore, startTrafficEdge, statuses } from './trafficFixtures.js';

/**
 * `apiKeySource: AUTHORIZER` end to end: a real worker runs a Lambda TOKEN authorizer that answers with
 * a `usageIdentifierKey`; the in-process edge checks that key against usage plans after the authorizer,
 * applies the plan's throttle and quota, and meters the key.
 */

const FUNCTION = fileURLToPath(new URL('./functions/usageKeyAuthorizer', import.meta.url));
const prefix = testPrefix('authkeys');
const dir = mkdtempSync(join(tmpdir(), 'tp-authkeys-'));
const clock = new TestClock(Date.parse('2026-11-26T12:00:00Z'));
const { store, redis } = openStore(prefix);
const ITEMS = '{"items":[]}';
let worker: TurnpikeProcess | undefined;
let edge: Edge;

const config = (extraRoutes = '', extraApi = '') => `
gateway: { region: eu-west-1, accountId: "123456789012", throttle: { rateLimit: 1000, burstLimit: 1000 } }
functions:
  keyAuth: { handler: "${FUNCTION}.usageKey", timeoutMs: 5000 }
authorizers:
  tok: { type: token, function: keyAuth }
apis:
  - name: shop
    apiKeySource: AUTHORIZER
    stages: { prod: {}, dev: {} }
    routes:
      GET /items: { apiKeyRequired: true, authorizer: tok, integration: { type: mock, body: '${ITEMS}' } }
      GET /open: { authorizer: tok, integration: { type: mock, body: open } }
${extraRoutes}${extraApi}`;
const yaml = config();

const bearer = (token: string) => ({ authorization: `Bearer ${token}` });

beforeAll(async () => {
  const file = join(dir, 'turnpike.yaml');
  writeFileSync(file, yaml);
  worker = await spawnTurnpike(['worker', '--config', file, '--redis', SHARED_REDIS_URL, '--key-prefix', prefix], { readyEvent: 'ready' });
  edge = await startTrafficEdge(yaml, { clock, keyPrefix: prefix });
});

afterAll(async () => {
  await edge?.stop(1000);
  await worker?.stop();
  redis.disconnect();
  await deletePrefix(SHARED_REDIS_URL, prefix);
  rmSync(dir, { recursive: true, force: true });
});

describe('apiKeySource AUTHORIZER', () => {
  it('admits the key the authorizer names and meters it; the x-api-key header is not the key', async () => {
    const k = await keyInPlan(store, ['shop/prod'], { throttle: { rateLimit: 100, burstLimit: 50 } });
    const first = await get(edge.port, '/prod/items', bearer(k.value));
    expect(first.status).toBe(200);
    expect(first.body).toBe(ITEMS);
    // The plan (burst 50) is tighter than the gateway (1000), decided after the authorizer: one set of headers.
    expect(first.headers['ratelimit-limit']).toBe('50');
    expect(first.headers['ratelimit-remaining']).toBe('49');
    expect(await statuses(2, edge.port, '/prod/items', bearer(k.value))).toEqual([200, 200]); // cached grant, same key

    const other = await keyInPlan(store, ['shop/prod']);
    const headerOnly = await get(edge.port, '/prod/items', { ...bearer('nokey'), 'x-api-key': other.value });
    expect(headerOnly.status).toBe(403);
    expect(JSON.parse(headerOnly.body)).toEqual({ message: 'Forbidden' });
    // A route without apiKeyRequired needs no key, only the authorizer.
    expect((await get(edge.port, '/prod/open', bearer('nokey'))).status).toBe(200);

    await edge.traffic.meter.flush();
    expect(await store.getUsage(k.id, '2026-11-26', '2026-11-26')).toEqual([{ date: '2026-11-26', apiId: 'shop', stage: 'prod', calls: 3, bytes: 3 * ITEMS.length }]);
    expect(await store.getUsage(other.id, '2026-11-26', '2026-11-26')).toEqual([]);
  });

  it('refuses unknown, plan-less, other-stage and disabled keys with 403 Forbidden; the authorizer still answers 401 first', async () => {
    const noPlan = await store.createKey({ name: 'no-plan' });
    const devOnly = await keyInPlan(store, ['shop/dev']);
    for (const token of ['x'.repeat(40), noPlan.value, devOnly.value]) {
      const r = await get(edge.port, '/prod/items', bearer(token));
      expect(r.status).toBe(403);
      expect(JSON.parse(r.body)).toEqual({ message: 'Forbidden' });
    }
    expect((await get(edge.port, '/dev/items', bearer(devOnly.value))).status).toBe(200);
    expect((await get(edge.port, '/prod/items', bearer('refuse'))).status).toBe(401);

    const k = await keyInPlan(store, ['shop/prod']);
    expect((await get(edge.port, '/prod/items', bearer(k.value))).status).toBe(200);
    await store.setKeyEnabled(k.id, false);
    // The authorizer's grant stays cached; the key's change reaches the edge's key cache over pub/sub.
    await eventually(async () => (await get(edge.port, '/prod/items', bearer(k.value))).status === 403, 3_000, 'disabled key refused');
    await store.setKeyEnabled(k.id, true);
    await eventually(async () => (await get(edge.port, '/prod/items', bearer(k.value))).status === 200, 3_000, 'enabled key admitted');
  });

  it("applies the key's plan throttle and quota: 429, per key, not metered", async () => {
    const a = await keyInPlan(store, ['shop/prod'], { throttle: { rateLimit: 1, burstLimit: 2 } });
    const b = await keyInPlan(store, ['shop/prod'], { throttle: { rateLimit: 1, burstLimit: 2 } });
    expect(await statuses(2, edge.port, '/prod/items', bearer(a.value))).toEqual([200, 200]);
    const refused = await get(edge.port, '/prod/items', bearer(a.value));
    expect(refused.status).toBe(429);
    expect(JSON.parse(refused.body)).toEqual({ message: 'Too Many Requests' });
    expect(refused.headers['retry-after']).toBe('1');
    expect(refused.headers['ratelimit-limit']).toBe('2');
    expect(refused.headers['ratelimit-remaining']).toBe('0');
    expect(await statuses(3, edge.port, '/prod/items', bearer(b.value))).toEqual([200, 200, 429]);

    const q = await keyInPlan(store, ['shop/prod'], { quota: { limit: 2, period: 'DAY' } });
    expect(await statuses(2, edge.port, '/prod/items', bearer(q.value))).toEqual([200, 200]);
    const over = await get(edge.port, '/prod/items', bearer(q.value));
    expect(over.status).toBe(429);
    expect(JSON.parse(over.body)).toEqual({ message: 'Limit Exceeded' });

    await edge.traffic.meter.flush();
    expect(await store.getUsage(a.id, '2026-11-26', '2026-11-26')).toMatchObject([{ calls: 2 }]);
    expect(await store.getUsage(q.id, '2026-11-26', '2026-11-26')).toMatchObject([{ calls: 2 }]);
  });

  it('is a config error on a route whose authorizer cannot return a usageIdentifierKey', () => {
    const issues = (routes: string, api: string) => {
      try {
        edge.swapRoutes(parseConfig(config(routes, api), 'keys.yaml'));
      } catch (err) {
        if (err instanceof ConfigError) return err.issues.map((i) => `${i.path}: ${i.message}`);
        throw err;
      } finally {
        edge.swapRoutes(parseConfig(yaml, 'keys.yaml'));
      }
      return [];
    };
    const jwt = '    authorizers: { j: { type: jwt, issuer: "https://issuer.example", audiences: [a] } }\n';
    const routes = '      GET /none: { apiKeyRequired: true, integration: { type: mock } }\n      GET /jwt: { apiKeyRequired: true, authorizer: j, integration: { type: mock } }\n';
    expect(issues(routes, jwt)).toEqual([
      expect.stringMatching(/^apis\[0\]\.routes\.GET \/none: apiKeyRequired with apiKeySource AUTHORIZER needs a token or request authorizer/),
      expect.stringMatching(/^apis\[0\]\.routes\.GET \/jwt: apiKeyRequired with apiKeySource AUTHORIZER needs a token or request authorizer/),
    ]);
  });
});
