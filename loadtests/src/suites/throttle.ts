import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ApiKeyStore, RedisKeys, connectRedis } from '@turnpike/redis';
import { deletePrefix } from '@turnpike/testing';
import { measureAll, report, type Ratio, type Target } from '../harness.js';
import { startEdge, startUpstream, type Running } from '../processes.js';
import { topFunctions } from '../cpuProfile.js';

/**
 * Issue 4's benchmark: one proxy route plain, and the same route with a required API key and
 * throttling at the gateway, stage, route and usage plan levels (limits far above the load, so every
 * request pays for every level and none is refused), side by side in one run; target ≥ 0.9×. A third
 * target hammers a route far over its limit: the cost of refusing, which stays on the node.
 * BENCH_PROFILE=1 also records a CPU profile of the edge and prints its top functions; BENCH_BASELINE
 * (another build's turnpike.mjs) measures that build's plain and guarded routes in the same run.
 */
const REDIS = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';

export async function run(): Promise<void> {
  // startEdge gives the edge this prefix; the store writes the key and plan under the same one.
  const prefix = `bench-${process.pid}`;
  const redis = connectRedis({ url: REDIS, name: 'bench-throttle' });
  const store = new ApiKeyStore(redis, new RedisKeys(prefix));
  const started: Running[] = [];
  try {
    const key = await store.createKey({ name: 'bench' });
    const plan = await store.createPlan({ name: 'bench', apiStages: [{ apiId: 'bench', stage: '$default' }], throttle: { rateLimit: 5_000_000, burstLimit: 5_000_000 }, quota: { limit: 1_000_000_000, period: 'DAY' } });
    await store.attachKey(plan.id, key.id);
    const upstream = await startUpstream();
    started.push(upstream);
    const up = `http://127.0.0.1:${upstream.info.port as number}/item`;
    const profileDir = process.env.BENCH_PROFILE ? mkdtempSync(join(tmpdir(), 'tp-prof-')) : null;
    const yaml = `
gateway:
  throttle: { rateLimit: 5000000, burstLimit: 5000000 }
apis:
  - name: bench
    stages:
      $default: { throttle: { rateLimit: 5000000, burstLimit: 5000000 } }
    routes:
      GET /plain: { integration: { type: http_proxy, uri: "${up}" } }
      GET /guarded:
        apiKeyRequired: true
        throttle: { rateLimit: 5000000, burstLimit: 5000000 }
        integration: { type: http_proxy, uri: "${up}" }
      GET /limited:
        throttle: { rateLimit: 10, burstLimit: 10 }
        integration: { type: http_proxy, uri: "${up}" }
`;
    const edge = await startEdge(yaml, profileDir ? ['--cpu-prof', `--cpu-prof-dir=${profileDir}`] : []);
    started.push(edge);
    // Another build's edge beside this one (a change's before and after in one run).
    const baselineBin = process.env.BENCH_BASELINE;
    const baseline = baselineBin ? await startEdge(yaml, [], [], baselineBin) : null;
    if (baseline) started.push(baseline);
    const base = `http://127.0.0.1:${edge.info.port as number}`;
    const targets: Target[] = [
      { name: 'plain proxy route', url: `${base}/plain`, pid: edge.proc.pid },
      { name: 'API key + 4 throttle levels + quota', url: `${base}/guarded`, headers: { 'x-api-key': key.value }, pid: edge.proc.pid },
      { name: 'route over its limit (429s)', url: `${base}/limited`, pid: edge.proc.pid },
      ...(baseline
        ? [
            { name: 'baseline plain proxy route', url: `http://127.0.0.1:${baseline.info.port as number}/plain`, pid: baseline.proc.pid },
            { name: 'baseline guarded route', url: `http://127.0.0.1:${baseline.info.port as number}/guarded`, headers: { 'x-api-key': key.value }, pid: baseline.proc.pid },
          ]
        : []),
    ];
    const results = await measureAll(targets);
    let profile: { fn: string; selfPct: number }[] | undefined;
    if (profileDir) {
      await edge.stop(); // writes the profile on exit
      profile = topFunctions(profileDir, 40);
    }
    const ratios: Ratio[] = [
      { label: 'guarded / plain', numerator: 'API key + 4 throttle levels + quota', denominator: 'plain proxy route', target: 0.9 },
      ...(baseline ? [{ label: 'baseline guarded / plain', numerator: 'baseline guarded route', denominator: 'baseline plain proxy route' }] : []),
    ];
    report('throttle', results, ratios, profile ? { edgeCpuProfileTop: profile } : {});
  } finally {
    await Promise.all(started.map((p) => p.stop()));
    redis.disconnect();
    await deletePrefix(REDIS, prefix);
  }
}
