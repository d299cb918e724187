import { ApiKeyStore, RedisKeys, connectRedis } from '@turnpike/redis';
import { deletePrefix } from '@turnpike/testing';
import { measureAll, report, type Target } from '../harness.js';
import { startEdge, startUpstream, type Running } from '../processes.js';

/**
 * Issue 16's benchmark: the cost of billing-grade metering (per route, exactly-once batches) on a keyed
 * proxy route, against the same route on an edge with metering off, side by side in one run; target ≥ 0.95×.
 */
const REDIS = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';

export async function run(): Promise<void> {
  const prefix = `bench-${process.pid}`;
  const redis = connectRedis({ url: REDIS, name: 'bench-billing' });
  const store = new ApiKeyStore(redis, new RedisKeys(prefix));
  const started: Running[] = [];
  try {
    const key = await store.createKey({ name: 'bench' });
    const plan = await store.createPlan({ name: 'bench', apiStages: [{ apiId: 'bench', stage: '$default' }] });
    await store.attachKey(plan.id, key.id);
    const upstream = await startUpstream();
    started.push(upstream);
    const up = `http://127.0.0.1:${upstream.info.port as number}/item`;
    const config = (metering: boolean) => `
gateway: { metering: { enabled: ${metering} } }
apis:
  - name: bench
    routes:
      GET /keyed: { apiKeyRequired: true, integration: { type: http_proxy, uri: "${up}" } }
`;
    const [metered, unmetered] = await Promise.all([startEdge(config(true)), startEdge(config(false))]);
    started.push(metered, unmetered);
    const h = { 'x-api-key': key.value };
    const targets: Target[] = [
      { name: 'keyed route, metering off', url: `http://127.0.0.1:${unmetered.info.port as number}/keyed`, headers: h, pid: unmetered.proc.pid },
      { name: 'keyed route, billing-grade metering', url: `http://127.0.0.1:${metered.info.port as number}/keyed`, headers: h, pid: metered.proc.pid },
    ];
    const results = await measureAll(targets);
    report('billing', results, [{ label: 'metered / unmetered', numerator: 'keyed route, billing-grade metering', denominator: 'keyed route, metering off', target: 0.95 }]);
  } finally {
    await Promise.all(started.map((p) => p.stop()));
    redis.disconnect();
    await deletePrefix(REDIS, prefix);
  }
}
