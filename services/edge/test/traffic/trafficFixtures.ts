import { request } from 'node:http';
import pino from 'pino';
import { parseConfig } from '@turnpike/config';
import { Edge } from '@turnpike/edge';
import { ApiKeyStore, RedisKeys, connectRedis, type QuotaSettings, type RedisClient, type ThrottleLimits } from '@turnpike/redis';
import { SHARED_REDIS_URL, testPrefix } from '@turnpike/testing';

/** A clock tests move by hand; buckets, quota periods and metering days all read it. */
export class TestClock {
  constructor(public now = Date.parse('2026-11-26T12:00:00Z')) {}
  readonly read = (): number => this.now;
  advance(ms: number): void {
    this.now += ms;
  }
}

export interface TrafficEdgeOptions {
  clock?: TestClock;
  redisUrl?: string;
  keyPrefix?: string;
  logger?: pino.Logger;
}

/** An in-process edge on a free loopback port, with its own key prefix unless one is given. */
export async function startTrafficEdge(yaml: string, opts: TrafficEdgeOptions = {}): Promise<Edge> {
  const edge = new Edge({
    config: parseConfig(yaml, 'traffic-test.yaml'),
    port: 0,
    host: '127.0.0.1',
    managementPort: -1,
    redisUrl: opts.redisUrl ?? SHARED_REDIS_URL,
    keyPrefix: opts.keyPrefix ?? testPrefix('traffic'),
    logger: opts.logger ?? pino({ level: 'silent' }),
    clock: opts.clock?.read,
  });
  return edge.start();
}

export interface Reply {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: string;
}

/** One GET on a fresh connection; `localAddress` picks the client IP (any 127.x.y.z works on loopback). */
export function get(port: number, path: string, headers: Record<string, string> = {}, localAddress?: string): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, path, headers, agent: false, localAddress }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => (body += c));
      res.on('end', () => resolve({ status: res.statusCode!, headers: res.headers, body }));
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end();
  });
}

export async function statuses(n: number, port: number, path: string, headers: Record<string, string> = {}): Promise<number[]> {
  const out: number[] = [];
  for (let i = 0; i < n; i++) out.push((await get(port, path, headers)).status);
  return out;
}

/** A store on its own connection, for arranging keys and plans the way the CLI would. */
export function openStore(prefix: string, url = SHARED_REDIS_URL): { store: ApiKeyStore; redis: RedisClient } {
  const redis = connectRedis({ url, name: 'traffic-test' });
  return { store: new ApiKeyStore(redis, new RedisKeys(prefix)), redis };
}

/** Creates a key in a new plan for `apiStages`; returns the key's id and value. */
export async function keyInPlan(store: ApiKeyStore, apiStages: string[], limits: { throttle?: ThrottleLimits; quota?: QuotaSettings } = {}): Promise<{ id: string; value: string; planId: string }> {
  const key = await store.createKey({ name: 'test-key' });
  const plan = await store.createPlan({
    name: 'test-plan',
    apiStages: apiStages.map((s) => ({ apiId: s.slice(0, s.indexOf('/')), stage: s.slice(s.indexOf('/') + 1) })),
    ...limits,
  });
  await store.attachKey(plan.id, key.id);
  return { id: key.id, value: key.value, planId: plan.id };
}

/** Polls `check` until it returns true or `ms` pass: only for effects no event announces (pub/sub delivery). */
export async function eventually(check: () => Promise<boolean>, ms = 5_000, what = 'condition'): Promise<void> {
  const deadline = Date.now() + ms;
  while (Date.now() < deadline) {
    if (await check()) return;
    await new Promise((r) => setTimeout(r, 20));
  }
  throw new Error(`${what} not reached within ${ms} ms`);
}
