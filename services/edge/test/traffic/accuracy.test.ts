import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import autocannon from 'autocannon';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { RedisServer, idealBucketDecisions, spawnTurnpike, testPrefix, type TurnpikeProcess } from '@turnpike/testing';
import { eventually, keyInPlan, openStore } from './trafficFixtures.js';

/**
 * The acceptance bound: 4 edge processes sharing one Redis, driven as hard as the client can, against
 * one API key limited to R req/s with burst B, for 10 s, admit R×10 + B within ±5%. The private Redis
 * keeps other tests' load off the measurement.
 */
const R = 300;
const BURST = 100;
const SECONDS = 10;
const EDGES = 4;

let redisServer: RedisServer;
let edges: TurnpikeProcess[] = [];
let dir: string;
let keyValue: string;

beforeAll(async () => {
  redisServer = await RedisServer.start();
  const prefix = testPrefix('accuracy');
  const { store, redis } = openStore(prefix, redisServer.url);
  keyValue = (await keyInPlan(store, ['acc/$default'], { throttle: { rateLimit: R, burstLimit: BURST } })).value;
  redis.disconnect();
  dir = mkdtempSync(join(tmpdir(), 'tp-accuracy-'));
  const config = join(dir, 'turnpike.yaml');
  writeFileSync(
    config,
    `
gateway:
  throttle: { redisTimeoutMs: 1000 }
apis:
  - name: acc
    routes:
      GET /hit:
        apiKeyRequired: true
        integration: { type: mock, body: ok }
`,
  );
  edges = await Promise.all(
    Array.from({ length: EDGES }, () =>
      spawnTurnpike(['edge', '--config', config, '--port', '0', '--management-port', '0', '--redis', redisServer.url, '--key-prefix', prefix], { env: { LOG_LEVEL: 'warn' }, timeoutMs: 60_000 }),
    ),
  );
  // Readiness includes a Redis ping: load starts only once every node can reach the buckets.
  for (const e of edges) {
    await eventually(async () => (await fetch(`http://127.0.0.1:${e.info.managementPort as number}/readyz`).catch(() => null))?.status === 200, 30_000, 'edge ready');
  }
  // Four process starts take seconds each when the machine is busy.
}, 150_000);

afterAll(async () => {
  await Promise.all(edges.map((e) => e.stop()));
  await redisServer?.destroy();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

it(`4 edges admit what one token bucket would (R×${SECONDS} + burst when driven past the limit) within ±5% for one key`, async () => {
  // Request times, taken as each response arrives: a response follows its request by the same small
  // delay whether it was admitted or refused, so the ideal bucket sees the same spacing the edges saw.
  const times: number[] = [];
  const results = await Promise.all(
    edges.map(
      (e) =>
        new Promise<autocannon.Result>((resolve, reject) => {
          const run = autocannon(
            {
              url: `http://127.0.0.1:${e.info.port as number}/hit`,
              headers: { 'x-api-key': keyValue },
              // No HTTP pipelining: autocannon's pipelined counts come out wrong once responses are asynchronous.
              connections: 16,
              duration: SECONDS,
            },
            (err, result) => (err ? reject(err) : resolve(result)),
          );
          run.on('response', () => times.push(performance.now()));
        }),
    ),
  );
  times.sort((a, b) => a - b);
  const admitted = results.reduce((n, r) => n + r['2xx'], 0);
  const refused = results.reduce((n, r) => n + r['4xx'], 0);
  const [first] = times;
  const last = times.at(-1);
  if (first === undefined || last === undefined) throw new Error('no request was timed');
  const seconds = (last - first) / 1000;
  const ideal = idealBucketDecisions(times, R, BURST).filter(Boolean).length;
  console.log(`admitted ${admitted} of ${admitted + refused} requests over ${seconds.toFixed(2)} s; an ideal bucket admits ${ideal} of these (R×T + B = ${(R * seconds + BURST).toFixed(0)}); ${((admitted / ideal - 1) * 100).toFixed(2)}%`);
  // The clients really pushed past the limit, on every node.
  expect(refused).toBeGreaterThan(0);
  for (const r of results) expect(r['2xx']).toBeGreaterThan(0);
  expect(results.every((r) => r.non2xx === r['4xx'] && r.errors === 0)).toBe(true);
  expect(admitted).toBeGreaterThanOrEqual(ideal * 0.95);
  expect(admitted).toBeLessThanOrEqual(ideal * 1.05);
  // Never more than the configured rate allows over the whole run, however the arrivals fell.
  expect(admitted).toBeLessThanOrEqual((R * seconds + BURST) * 1.05);
  for (const e of edges) expect(e.output()).not.toContain('traffic_redis_fallback');
}, 40_000);
