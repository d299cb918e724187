import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Edge } from '@turnpike/edge';
import { SHARED_REDIS_URL, deletePrefix, testPrefix } from '@turnpike/testing';
import { TestClock, get, keyInPlan, openStore, startTrafficEdge, statuses } from './trafficFixtures.js';

const prefix = testPrefix('levels');
const clock = new TestClock();
const { store, redis } = openStore(prefix);
const edges: Edge[] = [];
let single: Edge;
let together: Edge;
let gateway: Edge;
let perIp: Edge;

// One level per edge (or per stage and route), each small enough to see exactly where it cuts off.
beforeAll(async () => {
  single = await startTrafficEdge(
    `
apis:
  - name: lv
    stages:
      prod: { throttle: { rateLimit: 1, burstLimit: 3 } }
      dev: {}
    routes:
      GET /free: { integration: { type: mock, body: free } }
      GET /route:
        throttle: { rateLimit: 1, burstLimit: 2 }
        integration: { type: mock, body: route }
      GET /keyed:
        apiKeyRequired: true
        integration: { type: mock, body: keyed }
`,
    { clock, keyPrefix: `${prefix}-single` },
  );
  gateway = await startTrafficEdge(
    `
gateway:
  throttle: { rateLimit: 1, burstLimit: 3 }
apis:
  - name: gw
    routes:
      GET /a: { integration: { type: mock, body: a } }
      GET /b: { integration: { type: mock, body: b } }
`,
    { clock, keyPrefix: `${prefix}-gw` },
  );
  perIp = await startTrafficEdge(
    `
gateway:
  throttle:
    perClientIp: { rateLimit: 1, burstLimit: 2 }
apis:
  - name: ip
    routes:
      GET /x: { integration: { type: mock, body: x } }
`,
    { clock, keyPrefix: `${prefix}-ip` },
  );
  together = await startTrafficEdge(
    `
gateway:
  throttle: { rateLimit: 1, burstLimit: 50, perClientIp: { rateLimit: 1, burstLimit: 40 } }
apis:
  - name: all
    stages:
      prod: { throttle: { rateLimit: 1, burstLimit: 30 } }
    routes:
      GET /tight:
        apiKeyRequired: true
        throttle: { rateLimit: 1, burstLimit: 10 }
        integration: { type: mock, body: t }
      GET /other: { integration: { type: mock, body: o } }
`,
    { clock, keyPrefix: prefix },
  );
  edges.push(single, gateway, perIp, together);
});

afterAll(async () => {
  await Promise.all(edges.map((e) => e.stop(1000)));
  redis.disconnect();
  for (const p of [prefix, `${prefix}-single`, `${prefix}-gw`, `${prefix}-ip`]) await deletePrefix(SHARED_REDIS_URL, p);
});

describe('each level alone', () => {
  it('stage: one bucket for every route of the stage; other stages are not limited', async () => {
    expect([...(await statuses(2, single.port, '/prod/free')), ...(await statuses(2, single.port, '/prod/route'))]).toEqual([200, 200, 200, 429]);
    const dev = await get(single.port, '/dev/free');
    expect(dev.status).toBe(200);
    expect(dev.headers['ratelimit-limit']).toBeUndefined();
  });

  it('route: its own bucket in each stage', async () => {
    expect(await statuses(3, single.port, '/dev/route')).toEqual([200, 200, 429]);
    clock.advance(10_000);
    // prod's route bucket is separate from dev's; prod's stage bucket (3) is tighter than neither here.
    expect(await statuses(3, single.port, '/prod/route')).toEqual([200, 200, 429]);
  });

  it('gateway: one bucket across every API and route', async () => {
    clock.advance(10_000);
    expect([...(await statuses(2, gateway.port, '/a')), ...(await statuses(2, gateway.port, '/b'))]).toEqual([200, 200, 200, 429]);
  });

  it('client IP: each address has its own bucket', async () => {
    clock.advance(10_000);
    const from = async (ip: string) => (await get(perIp.port, '/x', {}, ip)).status;
    expect([await from('127.0.0.1'), await from('127.0.0.1'), await from('127.0.0.1')]).toEqual([200, 200, 429]);
    expect([await from('127.0.0.2'), await from('127.0.0.2'), await from('127.0.0.2')]).toEqual([200, 200, 429]);
  });

  it('API key: the usage plan throttles each key separately', async () => {
    clock.advance(10_000);
    const a = await keyInPlan(store, ['lv/dev'], { throttle: { rateLimit: 1, burstLimit: 2 } });
    const b = await keyInPlan(store, ['lv/dev'], { throttle: { rateLimit: 1, burstLimit: 2 } });
    const single2 = await startTrafficEdge(`apis: [{ name: lv, stages: { dev: {} }, routes: { 'GET /keyed': { apiKeyRequired: true, integration: { type: mock, body: k } } } }]`, { clock, keyPrefix: prefix });
    edges.push(single2);
    expect(await statuses(3, single2.port, '/dev/keyed', { 'x-api-key': a.value })).toEqual([200, 200, 429]);
    expect(await statuses(3, single2.port, '/dev/keyed', { 'x-api-key': b.value })).toEqual([200, 200, 429]);
    clock.advance(1_000);
    expect(await statuses(2, single2.port, '/dev/keyed', { 'x-api-key': a.value })).toEqual([200, 429]);
  });
});

describe('all levels together', () => {
  it('the headers report the tightest level, and any level refusing answers 429', async () => {
    clock.advance(100_000);
    const key = await keyInPlan(store, ['all/prod'], { throttle: { rateLimit: 1, burstLimit: 20 } });
    const h = { 'x-api-key': key.value };
    const first = await get(together.port, '/prod/tight', h);
    expect(first.status).toBe(200);
    // route 10 < plan 20 < stage 30 < ip 40 < gateway 50
    expect(first.headers['ratelimit-limit']).toBe('10');
    expect(first.headers['ratelimit-remaining']).toBe('9');
    expect(first.headers['ratelimit-reset']).toBe('1');
    expect(await statuses(9, together.port, '/prod/tight', h)).toEqual(Array(9).fill(200));
    const refused = await get(together.port, '/prod/tight', h);
    expect(refused.status).toBe(429);
    expect(JSON.parse(refused.body)).toEqual({ message: 'Too Many Requests' });
    expect(refused.headers['ratelimit-limit']).toBe('10');
    expect(refused.headers['retry-after']).toBe('1');

    // A refused request takes from no level: the stage bucket counted 10 requests, not 11.
    const other = await get(together.port, '/prod/other');
    expect(other.status).toBe(200);
    expect(other.headers['ratelimit-limit']).toBe('30');
    expect(other.headers['ratelimit-remaining']).toBe('19');
  });

  it('a tighter stage takes over once the route level has room again', async () => {
    clock.advance(100_000);
    const key = await keyInPlan(store, ['all/prod'], { throttle: { rateLimit: 1, burstLimit: 3 } });
    const r = await get(together.port, '/prod/tight', { 'x-api-key': key.value });
    expect(r.headers['ratelimit-limit']).toBe('3');
    expect(r.headers['ratelimit-remaining']).toBe('2');
    expect(await statuses(3, together.port, '/prod/tight', { 'x-api-key': key.value })).toEqual([200, 200, 429]);
  });
});
