import { spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ApiKeyStore, BillingStore, RedisKeys, connectRedis } from '@turnpike/redis';
import { BillingService, deliverToWebhook } from '@turnpike/billing';
import { SHARED_REDIS_URL, TURNPIKE_BIN, deletePrefix, testPrefix } from '@turnpike/testing';
import type { Edge } from '@turnpike/edge';
import type { RedisClient } from '@turnpike/redis';
import { eventually, get, keyInPlan, startTrafficEdge } from '../../services/edge/test/traffic/trafficFixtures.js';

const prefix = testPrefix('billing');
const dir = mkdtempSync(join(tmpdir(), 'tp-billing-'));
let redis: RedisClient;
let keys: ApiKeyStore;
let service: BillingService;

/** `turnpike billing ...` against this test's prefix. */
function billing(...args: string[]): { code: number | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, [TURNPIKE_BIN, 'billing', ...args, '--redis', SHARED_REDIS_URL, '--key-prefix', prefix], { encoding: 'utf8' });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

function priceFile(name: string, body: object): string {
  const f = join(dir, name);
  writeFileSync(f, JSON.stringify(body));
  return f;
}

const lastMonth = (() => {
  const d = new Date();
  return new Date(Date.UTC(d.getUTCFullYear(), d.getUTCMonth() - 1, 1)).toISOString().slice(0, 7);
})();

beforeAll(() => {
  redis = connectRedis({ url: SHARED_REDIS_URL, name: 'billing-test' });
  const k = new RedisKeys(prefix);
  keys = new ApiKeyStore(redis, k);
  service = new BillingService(keys, new BillingStore(redis, k));
});

afterAll(async () => {
  redis.disconnect();
  await deletePrefix(SHARED_REDIS_URL, prefix);
});

describe('pay per call', () => {
  it('prices a plan from the CLI, refuses a price that would rewrite the past, and rates a closed month reproducibly', async () => {
    const key = await keyInPlan(keys, ['shop/prod']);
    const first = billing('price', 'add', '--plan', key.planId, '--file', priceFile('p1.json', { currency: 'USD', effectiveFrom: `${lastMonth}-01`, rates: [{ tiers: [{ upTo: 10000, price: '0' }, { price: '0.002' }] }] }));
    expect(first).toMatchObject({ code: 0 });
    const past = billing('price', 'add', '--plan', key.planId, '--file', priceFile('p2.json', { currency: 'USD', effectiveFrom: `${lastMonth}-15`, rates: [{ tiers: [{ price: '0.001' }] }] }));
    expect(past.code).toBe(1);
    expect(past.stderr).toContain('must take effect after today');
    const bad = billing('price', 'add', '--plan', key.planId, '--file', priceFile('p3.json', { currency: 'USD', effectiveFrom: '2099-01-01', rates: [{ tiers: [{ upTo: 5, price: 'x' }] }] }));
    expect(bad.code).toBe(1);
    expect(bad.stderr).toMatch(/rates\.0\.tiers\.0\.price: an amount is a non-negative decimal/);

    // A month of usage as the edges meter it: 25,000 calls over 25 days.
    for (let d = 1; d <= 25; d++) {
      await keys.applyUsageBatch(key.id, `${lastMonth}-${String(d).padStart(2, '0')}`, `seed:${d}`, new Map([['shop/prod GET /pets', [1000, 2000] as [number, number]]]));
    }
    const statement = billing('statement', '--key', key.id, '--month', lastMonth, '--json');
    expect(statement.code).toBe(0);
    const [s] = JSON.parse(statement.stdout) as { total: string; calls: number }[];
    expect(s).toMatchObject({ calls: 25_000, total: '30.00' });

    const run1 = JSON.parse(billing('run', '--month', lastMonth, '--json').stdout) as { statement: { keyId: string; total: string }; created: boolean }[];
    const run2 = JSON.parse(billing('run', '--month', lastMonth, '--json').stdout) as typeof run1;
    const mine = (r: typeof run1) => r.filter((c) => c.statement.keyId === key.id);
    expect(mine(run1)).toMatchObject([{ created: true, statement: { total: '30.00' } }]);
    expect(mine(run2)).toEqual(mine(run1).map((c) => ({ ...c, created: false })));
    const csv = billing('statement', '--key', key.id, '--month', lastMonth, '--csv').stdout.split('\r\n');
    expect(csv.at(-2)).toMatch(/,total,.*,30\.00$/);
    expect(billing('run', '--month', new Date().toISOString().slice(0, 7)).stderr).toContain('is not over yet');
  });

  it('exports usage to a webhook that fails and loses replies, and the receiver bills each day once', async () => {
    const key = await keyInPlan(keys, ['shop/prod']);
    await service.addPrice(key.planId, { currency: 'USD', effectiveFrom: `${lastMonth}-01`, rates: [{ tiers: [{ price: '0.002' }] }] });
    for (let d = 1; d <= 6; d++) await keys.applyUsageBatch(key.id, `${lastMonth}-0${d}`, `seed:${d}`, new Map([['shop/prod GET /pets', [100 * d, 0] as [number, number]]]));

    // The receiver: the first attempt of every event fails with 503; the second is processed but its
    // reply is lost (the socket is destroyed); later attempts find it processed. It bills by Idempotency-Key.
    const attemptsById = new Map<string, number>();
    const billed = new Map<string, number>();
    const server: Server = createServer((req, res) => {
      let body = '';
      req.on('data', (c: Buffer) => (body += c.toString()));
      req.on('end', () => {
        const id = req.headers['idempotency-key'] as string;
        const n = (attemptsById.get(id) ?? 0) + 1;
        attemptsById.set(id, n);
        if (n === 1) return void res.writeHead(503).end();
        const event = JSON.parse(body) as { id: string; type: string; data: { calls: number; keyId: string } };
        expect(event).toMatchObject({ id, type: 'dev.turnpike.usage.rated.v1', specversion: '1.0' });
        if (!billed.has(id)) billed.set(id, event.data.calls);
        if (n === 2) return void req.socket.destroy();
        res.writeHead(200).end();
      });
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const url = `http://127.0.0.1:${(server.address() as { port: number }).port}/usage`;
    try {
      const events = (await service.usageEvents(lastMonth)).filter((e) => e.keyId === key.id);
      expect(events.map((e) => [e.date.slice(8), e.calls, e.amount])).toEqual([1, 2, 3, 4, 5, 6].map((d) => [`0${d}`, 100 * d, (0.2 * d).toFixed(2)]));
      const report = await deliverToWebhook(events, service.billing, { url, format: 'cloudevents', backoffMs: 5, sinkName: `test-${prefix}` });
      expect(report).toMatchObject({ delivered: 6, failed: [] });
      expect([...billed.values()]).toEqual([100, 200, 300, 400, 500, 600]);
      expect([...attemptsById.values()].every((n) => n === 3)).toBe(true);
      const again = await deliverToWebhook(events, service.billing, { url, format: 'cloudevents', backoffMs: 5, sinkName: `test-${prefix}` });
      expect(again).toMatchObject({ delivered: 0, alreadyDelivered: 6 });
    } finally {
      server.close();
    }
  });

  it('answers 429 Limit Exceeded once a key reaches its monthly spend cap', async () => {
    const edge: Edge = await startTrafficEdge(
      `
gateway: { metering: { flushIntervalMs: 100 } }
apis:
  - name: shop
    stages: { prod: {} }
    routes:
      GET /pets: { apiKeyRequired: true, integration: { type: mock, body: ok } }
`,
      { keyPrefix: prefix },
    );
    try {
      const key = await keyInPlan(keys, ['shop/prod']);
      await service.addPrice(key.planId, { currency: 'USD', effectiveFrom: '2020-01-01', rates: [{ tiers: [{ price: '0.01' }] }] });
      expect(billing('account', '--key', key.id, '--spend-cap', '0.05', '--currency', 'USD').code).toBe(0);
      const h = { 'x-api-key': key.value };
      for (let i = 0; i < 5; i++) expect((await get(edge.port, '/prod/pets', h)).status).toBe(200);
      await eventually(async () => (await get(edge.port, '/prod/pets', h)).status === 429, 8_000, 'spend cap enforced');
      const refused = await get(edge.port, '/prod/pets', h);
      expect(refused).toMatchObject({ status: 429, body: '{"message":"Limit Exceeded"}' });
    } finally {
      await edge.stop(0);
    }
  });
});
