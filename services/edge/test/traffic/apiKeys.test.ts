import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ConfigError, parseConfig } from '@turnpike/config';
import type { Edge } from '@turnpike/edge';
import { digestKeyValue, digestKeyValueHex, digestsEqual, quotaPeriod } from '@turnpike/redis';
import { SHARED_REDIS_URL, TURNPIKE_BIN, deletePrefix, testPrefix } from '@turnpike/testing';
import { TestClock, eventually, get, keyInPlan, openStore, startTrafficEdge, statuses } from './trafficFixtures.js';

const run = promisify(execFile);
const prefix = testPrefix('keys');
const clock = new TestClock(Date.parse('2026-11-26T23:59:58Z'));
const { store, redis } = openStore(prefix);
let edge: Edge;

/** `turnpike ARGS --key-prefix <this test's prefix>`; resolves with exit code and output. */
async function cli(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const { stdout, stderr } = await run(process.execPath, [TURNPIKE_BIN, ...args, '--key-prefix', prefix, '--redis', SHARED_REDIS_URL]);
    return { code: 0, stdout, stderr };
  } catch (err) {
    const e = err as { code: number; stdout: string; stderr: string };
    return { code: e.code, stdout: e.stdout, stderr: e.stderr };
  }
}

beforeAll(async () => {
  edge = await startTrafficEdge(
    `
apis:
  - name: shop
    stages: { prod: {}, dev: {} }
    routes:
      GET /items:
        apiKeyRequired: true
        integration: { type: mock, body: '{"items":[]}' }
      GET /open: { integration: { type: mock, body: open } }
`,
    { clock, keyPrefix: prefix },
  );
});

afterAll(async () => {
  await edge.stop(1000);
  redis.disconnect();
  await deletePrefix(SHARED_REDIS_URL, prefix);
});

describe('API key lifecycle through the CLI', () => {
  it('create shows the value once; list, disable and enable act on running edges at once', async () => {
    const created = await cli('keys', 'create', '--name', 'alice', '--json');
    expect(created.code).toBe(0);
    const key = JSON.parse(created.stdout) as { id: string; value: string; enabled: boolean };
    expect(key.value).toMatch(/^[A-Za-z0-9_-]{40}$/);
    expect(key.enabled).toBe(true);

    const plan = JSON.parse((await cli('plans', 'create', '--name', 'gold', '--api-stage', 'shop/prod', '--rate', '100', '--burst', '50', '--quota', '1000', '--period', 'MONTH', '--json')).stdout) as { id: string };
    expect((await cli('plans', 'attach', '--plan', plan.id, '--key', key.id)).code).toBe(0);
    const listed = JSON.parse((await cli('keys', 'list', '--json')).stdout) as Record<string, unknown>[];
    expect(listed).toEqual([expect.objectContaining({ id: key.id, name: 'alice', enabled: true, planIds: [plan.id] })]);
    // The value is never stored or listed; only its SHA-256 is.
    const dump = JSON.stringify(await redis.hgetall(`${prefix}:apikey:{${digestKeyValue(key.value).toString('hex')}}`));
    expect(dump).not.toContain(key.value);

    const h = { 'x-api-key': key.value };
    expect((await get(edge.port, '/prod/items', h)).status).toBe(200);
    expect((await cli('keys', 'disable', '--id', key.id)).code).toBe(0);
    // Pub/sub carries the change to the edge; its cache entry would otherwise live a minute.
    await eventually(async () => (await get(edge.port, '/prod/items', h)).status === 403, 3_000, 'disabled key refused');
    expect((await cli('keys', 'enable', '--id', key.id)).code).toBe(0);
    await eventually(async () => (await get(edge.port, '/prod/items', h)).status === 200, 3_000, 'enabled key admitted');
  });

  it('resolves an API name in --api-stage to its id with --config, and refuses an API or stage it does not serve', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'tp-plans-'));
    const file = join(dir, 'turnpike.yaml');
    writeFileSync(file, `gateway: { redis: { url: "${SHARED_REDIS_URL}", keyPrefix: ${prefix} } }\napis:\n  - name: petstore\n    id: abc123\n    stages: { prod: {} }\n    routes: { GET /x: { integration: { type: mock } } }\n`);
    try {
      const byName = await cli('plans', 'create', '--config', file, '--name', 'pets', '--api-stage', 'petstore/prod', '--json');
      expect(byName.code).toBe(0);
      expect((JSON.parse(byName.stdout) as { apiStages: unknown }).apiStages).toEqual([{ apiId: 'abc123', stage: 'prod' }]);
      const unknownApi = await cli('plans', 'create', '--config', file, '--name', 'x', '--api-stage', 'petshop/prod');
      expect(unknownApi.code).not.toBe(0);
      expect(unknownApi.stderr).toContain('has no API with id or name "petshop" (APIs: petstore (id abc123))');
      const unknownStage = await cli('plans', 'create', '--config', file, '--name', 'x', '--api-stage', 'abc123/dev');
      expect(unknownStage.code).not.toBe(0);
      expect(unknownStage.stderr).toContain('API "petstore" has no stage "dev" (stages: prod)');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('refuses a missing, unknown, or plan-less key with 403 Forbidden, and bad CLI input clearly', async () => {
    const noPlan = await store.createKey({ name: 'no-plan' });
    const tries: Record<string, string>[] = [{}, { 'x-api-key': 'x'.repeat(40) }, { 'x-api-key': noPlan.value }];
    for (const headers of tries) {
      const r = await get(edge.port, '/prod/items', headers);
      expect(r.status).toBe(403);
      expect(JSON.parse(r.body)).toEqual({ message: 'Forbidden' });
    }
    // A key in a plan for prod only is refused on dev.
    const k = await keyInPlan(store, ['shop/prod']);
    expect((await get(edge.port, '/dev/items', { 'x-api-key': k.value })).status).toBe(403);
    expect((await get(edge.port, '/prod/items', { 'x-api-key': k.value })).status).toBe(200);
    // Routes without apiKeyRequired ignore keys.
    expect((await get(edge.port, '/prod/open')).status).toBe(200);

    const unknown = await cli('keys', 'disable', '--id', 'nosuchkey');
    expect(unknown.code).toBe(1);
    expect(unknown.stderr).toContain('no API key with id "nosuchkey"');
    const clash = await store.createPlan({ name: 'other', apiStages: [{ apiId: 'shop', stage: 'prod' }] });
    const conflict = await cli('plans', 'attach', '--plan', clash.id, '--key', k.id);
    expect(conflict.code).toBe(1);
    expect(conflict.stderr).toContain(`already in plan ${k.planId} for shop/prod`);
  });

  it('compares digests in constant time over their whole length', async () => {
    const d = digestKeyValue('a'.repeat(40));
    // The hex form the cache and Redis keys use is the same SHA-256.
    expect(digestKeyValueHex('a'.repeat(40))).toBe(d.toString('hex'));
    const last = Buffer.from(d);
    last.writeUInt8(last.readUInt8(31) ^ 1, 31);
    expect(digestsEqual(d, Buffer.from(d))).toBe(true);
    expect(digestsEqual(d, last)).toBe(false);
    expect(digestsEqual(d, d.subarray(0, 16))).toBe(false);
    // A record whose stored digest does not match its lookup key is never accepted.
    const k = await store.createKey({ name: 'tampered' });
    const recordKey = `${prefix}:apikey:{${digestKeyValue(k.value).toString('hex')}}`;
    await redis.hset(recordKey, 'digest', last.toString('hex'));
    expect(await store.resolveKey(k.value)).toBeNull();
  });
});

describe('quotas and metering (injected clock)', () => {
  it('answers 429 Limit Exceeded until the period rolls over', async () => {
    const k = await keyInPlan(store, ['shop/dev'], { quota: { limit: 3, period: 'DAY' } });
    const h = { 'x-api-key': k.value };
    expect(await statuses(3, edge.port, '/dev/items', h)).toEqual([200, 200, 200]);
    const over = await get(edge.port, '/dev/items', h);
    expect(over.status).toBe(429);
    expect(JSON.parse(over.body)).toEqual({ message: 'Limit Exceeded' });
    expect(over.headers['retry-after']).toBe('2'); // 23:59:58 → midnight
    clock.advance(2_000); // 2026-11-27T00:00:00Z: a new day, a new counter
    expect(await statuses(4, edge.port, '/dev/items', h)).toEqual([200, 200, 200, 429]);
  });

  it('meters calls and bytes per key, API, stage and day; turnpike usage prints them like GetUsage', async () => {
    const k = await keyInPlan(store, ['shop/prod', 'shop/dev'], { quota: { limit: 100, period: 'DAY' } });
    const h = { 'x-api-key': k.value };
    clock.now = Date.parse('2026-11-28T10:00:00Z');
    await statuses(2, edge.port, '/prod/items', h);
    await statuses(1, edge.port, '/dev/items', h);
    clock.now = Date.parse('2026-11-29T10:00:00Z');
    await statuses(3, edge.port, '/prod/items', h);
    await edge.traffic.meter.flush();
    const body = '{"items":[]}'.length;
    expect(await store.getUsage(k.id, '2026-11-27', '2026-11-29')).toEqual([
      { date: '2026-11-28', apiId: 'shop', stage: 'dev', calls: 1, bytes: body },
      { date: '2026-11-28', apiId: 'shop', stage: 'prod', calls: 2, bytes: 2 * body },
      { date: '2026-11-29', apiId: 'shop', stage: 'prod', calls: 3, bytes: 3 * body },
    ]);
    const out = await cli('usage', '--key', k.id, '--from', '2026-11-27', '--to', '2026-11-29', '--json');
    expect(JSON.parse(out.stdout)).toMatchObject({ startDate: '2026-11-27', endDate: '2026-11-29', items: { [k.id]: [[0, 100], [3, 97], [3, 97]] } });
    const text = await cli('usage', '--key', k.id, '--from', '2026-11-28', '--to', '2026-11-28');
    expect(text.stdout).toMatch(/2026-11-28\s+shop\s+prod\s+2\s+24/);
    await expect(store.getUsage(k.id, '2026-11-29', '2026-11-28')).rejects.toThrow('from <= to');
  });

  it('computes DAY, ISO WEEK and MONTH periods in UTC', () => {
    expect(quotaPeriod('DAY', Date.parse('2026-11-26T23:59:59Z'))).toMatchObject({ id: '2026-11-26', endsAt: Date.parse('2026-11-27T00:00:00Z') });
    expect(quotaPeriod('WEEK', Date.parse('2026-11-26T12:00:00Z'))).toMatchObject({ id: '2026-W48', startsAt: Date.parse('2026-11-23T00:00:00Z') });
    // 2027-01-01 is a Friday: it belongs to 2026's last ISO week.
    expect(quotaPeriod('WEEK', Date.parse('2027-01-01T00:00:00Z')).id).toBe('2026-W53');
    expect(quotaPeriod('WEEK', Date.parse('2027-01-04T00:00:00Z')).id).toBe('2027-W01');
    expect(quotaPeriod('MONTH', Date.parse('2026-12-31T23:59:59Z'))).toMatchObject({ id: '2026-12', endsAt: Date.parse('2027-01-01T00:00:00Z') });
  });
});

describe('configuration', () => {
  it('imports x-amazon-apigateway-api-key-source and rejects what it cannot serve', () => {
    const doc = (source: string) => `
openapi: 3.0.1
info: { title: keyed }
x-amazon-apigateway-api-key-source: ${source}
components: { securitySchemes: { api_key: { type: apiKey, name: x-api-key, in: header } } }
paths:
  /p:
    get:
      security: [{ api_key: [] }]
      x-amazon-apigateway-integration: { type: mock }
`;
    const c = parseConfig(doc('HEADER'), 'keyed.yaml');
    expect(c.apis[0]?.apiKeySource).toBe('HEADER');
    expect(c.apis[0]?.routes['GET /p']?.apiKeyRequired).toBe(true);
    expect(c.warnings).toEqual([]);
    expect(() => parseConfig(doc('COOKIE'), 'keyed.yaml')).toThrow(/keyed\.yaml.*x-amazon-apigateway-api-key-source: must be HEADER or AUTHORIZER/);
    expect(() => parseConfig('gateway: { throttle: { rateLimit: 5 } }\napis: [{ name: a, routes: { "GET /": { integration: { type: mock } } } }]', 'gw.yaml')).toThrow(
      /gw\.yaml:1: gateway\.throttle\.burstLimit: the gateway-wide limit needs both rateLimit and burstLimit/,
    );
    try {
      parseConfig('apis: [{ name: a, routes: { "GET /": { throttle: { rateLimit: 0, burstLimit: 1 }, integration: { type: mock } } } }]', 'r.yaml');
      expect.unreachable();
    } catch (err) {
      expect(err).toBeInstanceOf(ConfigError);
      expect((err as ConfigError).issues[0]).toMatchObject({ path: 'apis[0].routes.GET /.throttle.rateLimit' });
    }
  });
});
