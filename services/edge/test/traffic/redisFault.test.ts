import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Redis } from 'ioredis';
import pino from 'pino';
import type { Edge } from '@turnpike/edge';
import { RedisServer, testPrefix } from '@turnpike/testing';
import { TestClock, eventually, get, keyInPlan, openStore, startTrafficEdge, statuses } from './trafficFixtures.js';

/**
 * A private Redis, stopped and restarted under running edges: one failing open (the default), one
 * failing closed. Neither edge is restarted; both must return to enforcing limits once Redis is back.
 */
let server: RedisServer;
let open: Edge;
let closed: Edge;
let keyValue: string;
const prefix = testPrefix('fault');
const openLog: string[] = [];

const config = (policy: string) => `
gateway:
  throttle: { redisFailurePolicy: ${policy}, redisTimeoutMs: 50 }
apis:
  - name: f
    routes:
      GET /tight:
        throttle: { rateLimit: 0.001, burstLimit: 2 }
        integration: { type: mock, body: t }
      GET /fresh:
        throttle: { rateLimit: 1, burstLimit: 2 }
        integration: { type: mock, body: f }
      GET /again:
        throttle: { rateLimit: 0.001, burstLimit: 2 }
        integration: { type: mock, body: a }
      GET /keyed:
        apiKeyRequired: true
        integration: { type: mock, body: k }
`;

beforeAll(async () => {
  server = await RedisServer.start(['--enable-debug-command', 'yes']);
  const { store, redis } = openStore(prefix, server.url);
  keyValue = (await keyInPlan(store, ['f/$default'], { throttle: { rateLimit: 1000, burstLimit: 1000 } })).value;
  redis.disconnect();
  open = await startTrafficEdge(config('fail-open'), {
    redisUrl: server.url,
    keyPrefix: `${prefix}-open`,
    logger: pino({ level: 'warn' }, { write: (line: string) => void openLog.push(line) }),
  });
  closed = await startTrafficEdge(config('fail-closed'), { redisUrl: server.url, keyPrefix: prefix });
  // Both keyed and throttled paths work while Redis is up; the key is now cached on the fail-closed edge.
  expect((await get(closed.port, '/keyed', { 'x-api-key': keyValue })).status).toBe(200);
  expect(await statuses(3, open.port, '/tight')).toEqual([200, 200, 429]);
});

afterAll(async () => {
  await Promise.all([open?.stop(1000), closed?.stop(1000)]);
  await server?.destroy();
});

describe('Redis down', () => {
  it('fail-open admits, fail-closed answers 503, each within the wait bound, and every decision is counted', async () => {
    await server.stop();
    const before = { ...open.traffic.fallback.counters };
    const t0 = performance.now();
    // A bucket this node already knows to be empty keeps refusing without asking Redis.
    expect((await get(open.port, '/tight')).status).toBe(429);
    const r = await get(open.port, '/fresh');
    expect(r.status).toBe(200);
    const c = await get(closed.port, '/fresh');
    expect(c.status).toBe(503);
    expect(JSON.parse(c.body)).toEqual({ message: 'Service Unavailable' });
    // Bound is 50 ms per decision; the generous ceiling only guards against waiting on reconnects.
    expect(performance.now() - t0).toBeLessThan(1_500);
    expect(await statuses(5, open.port, '/fresh')).toEqual([200, 200, 200, 200, 200]);
    expect(open.traffic.fallback.counters.failOpen - before.failOpen).toBe(6);
    const logged = openLog.map((l) => JSON.parse(l) as { event?: string; policy?: string }).filter((l) => l.event === 'traffic_redis_fallback');
    expect(logged[0]).toMatchObject({ policy: 'fail-open' });
    expect(closed.traffic.fallback.counters.failClosed).toBe(1);
    // Tokens already leased need no Redis: the cached key's plan bucket still admits on the fail-closed edge.
    expect((await get(closed.port, '/keyed', { 'x-api-key': keyValue })).status).toBe(200);
    // An API key this node never verified cannot be admitted without Redis, whatever the policy.
    expect((await get(open.port, '/keyed', { 'x-api-key': keyValue })).status).toBe(503);
  });

  it('recovers without a restart once Redis is back', async () => {
    await server.start(['--enable-debug-command', 'yes']);
    // The restarted Redis is empty: the bucket starts full again and the scripts reload by themselves.
    // Failing open, /again admits everything; a 429 means its bucket in Redis is enforced again.
    await eventually(async () => (await get(open.port, '/again')).status === 429, 10_000, 'throttling resumed on the fail-open edge');
    await eventually(async () => (await get(closed.port, '/fresh')).status === 200, 10_000, 'fail-closed edge serving again');
  });
});

describe('Redis slow', () => {
  it('waits at most redisTimeoutMs, then applies the policy', async () => {
    const blocker = new Redis(server.url);
    await eventually(async () => (await get(closed.port, '/again')).status === 200, 5_000, 'steady state');
    // Another route's fresh bucket needs a lease while Redis sleeps for 1 s.
    const sleeping = blocker.call('DEBUG', 'SLEEP', '1');
    const t0 = performance.now();
    const r = await get(closed.port, '/tight');
    const waited = performance.now() - t0;
    expect(r.status).toBe(503);
    expect(waited).toBeLessThan(1_000);
    await sleeping;
    blocker.disconnect();
  });
});

describe('API keys while Redis is down', () => {
  it('serves a verified key stale for at most maxStaleMs past its TTL, then 503 until Redis answers again', async () => {
    const clock = new TestClock();
    // The key exists before the edge subscribes to key changes: attachKey's change message, delivered after
    // the first request had cached the key, dropped that entry (correct, and only a cache miss with Redis up),
    // and the requests below then had nothing stale to serve (503s, seen once in CI).
    const { store, redis } = openStore(prefix, server.url);
    const key = (await keyInPlan(store, ['f/$default'])).value;
    redis.disconnect();
    const stale = await startTrafficEdge(
      `
gateway:
  apiKeys: { cacheTtlMs: 1000, maxStaleMs: 5000 }
apis:
  - name: f
    routes:
      GET /keyed: { apiKeyRequired: true, integration: { type: mock, body: k } }
`,
      { redisUrl: server.url, keyPrefix: prefix, clock },
    );
    try {
      expect((await get(stale.port, '/keyed', { 'x-api-key': key })).status).toBe(200);
      await server.stop();
      clock.advance(5_500); // past the TTL, within it + maxStaleMs: served as verified
      expect(await statuses(3, stale.port, '/keyed', { 'x-api-key': key })).toEqual([200, 200, 200]);
      clock.advance(1_000); // past TTL + maxStaleMs: no longer trusted without Redis
      const refused = await get(stale.port, '/keyed', { 'x-api-key': key });
      expect(refused.status).toBe(503);
      await server.start(['--enable-debug-command', 'yes']);
      // The restarted Redis is empty (no persistence here): the key is now unknown, and says so.
      await eventually(async () => (await get(stale.port, '/keyed', { 'x-api-key': key })).status === 403, 10_000, 'key checked against Redis again');
    } finally {
      await stale.stop(1000);
    }
  });
});
