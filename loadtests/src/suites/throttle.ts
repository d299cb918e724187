import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ApiKeyStore, RedisKeys, connectRedis } from '@turnpike/redis';
import { deletePrefix } from '@turnpike/testing';
import { measureAll, measurePaired, report, wrkBinary, type Ratio, type Target } from '../harness.js';
import { ROOT, TURNPIKE, start, startEdge, startUpstream, type Running } from '../processes.js';
import { topFunctions } from '../cpuProfile.js';

/**
 * Issue 4's benchmark: one proxy route plain, and the same route with a required API key and
 * throttling at the gateway, stage, route and usage plan levels (limits far above the load, so every
 * request pays for every level and none is refused), side by side in one run; target ≥ 0.9×. A third
 * target hammers a route far over its limit: the cost of refusing, which stays on the node.
 * Issue 19's full pipeline is a second edge of the same build with everything on: the guarded route
 * plus a cached Lambda TOKEN authorizer, metrics served on a management port and an access log line
 * per request written to a file; it is compared with the first edge's plain route (nothing on).
 * BENCH_PROFILE=1 also records a CPU profile of the edge and prints its top functions; BENCH_BASELINE
 * (another build's turnpike.mjs) measures that build's plain, guarded and full-pipeline routes in the
 * same run (its full edge shares this run's worker: the authorizer's function and queue are the same).
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
    // Limits far above the load at every level: each request pays for each level and none is refused.
    const UNREACHED = '{ rateLimit: 5000000, burstLimit: 5000000 }';
    const api = `
  - name: bench
    stages:
      $default: { throttle: ${UNREACHED} }
    routes:
      GET /plain: { integration: { type: http_proxy, uri: "${up}" } }`;
    const yaml = `
gateway:
  throttle: ${UNREACHED}
apis:${api}
      GET /guarded:
        apiKeyRequired: true
        throttle: ${UNREACHED}
        integration: { type: http_proxy, uri: "${up}" }
      GET /limited:
        throttle: { rateLimit: 10, burstLimit: 10 }
        integration: { type: http_proxy, uri: "${up}" }
`;
    const edge = await startEdge(yaml, profileDir ? ['--cpu-prof', `--cpu-prof-dir=${profileDir}`] : []);
    started.push(edge);
    // The authorizer's first call runs on a worker; every later one is a policy-cache hit on the edge.
    const logDir = mkdtempSync(join(tmpdir(), 'tp-bench-log-'));
    const fullYaml = `
gateway:
  throttle: ${UNREACHED}
  accessLog:
    destination: ${join(logDir, 'access.log')}
    format: '{"requestId":"$context.requestId","ip":"$context.identity.sourceIp","routeKey":"$context.routeKey","status":"$context.status","latency":"$context.responseLatency","integrationLatency":"$context.integrationLatency","principal":"$context.authorizer.principalId"}'
functions:
  tokenAuth: { handler: ${join(ROOT, 'loadtests/functions/tokenAuthorizer.handler')} }
authorizers:
  tok: { type: token, function: tokenAuth, resultTtlSeconds: 3600 }
apis:${api}
      GET /authorized: { authorizer: tok, integration: { type: http_proxy, uri: "${up}" } }
      GET /full:
        apiKeyRequired: true
        authorizer: tok
        throttle: ${UNREACHED}
        integration: { type: http_proxy, uri: "${up}" }
`;
    const fullProfileDir = profileDir ? mkdtempSync(join(tmpdir(), 'tp-prof-full-')) : null;
    const full = await startEdge(fullYaml, fullProfileDir ? ['--cpu-prof', `--cpu-prof-dir=${fullProfileDir}`] : [], ['--management-port', '0']);
    started.push(full);
    const fullFile = join(logDir, 'turnpike.yaml');
    writeFileSync(fullFile, fullYaml);
    const worker = await start(process.execPath, [TURNPIKE, 'worker', '--config', fullFile, '--key-prefix', prefix], { readyEvent: 'ready', env: { LOG_LEVEL: 'warn' } });
    started.push(worker);
    // Another build's edge beside this one (a change's before and after in one run).
    const baselineBin = process.env.BENCH_BASELINE;
    const baseline = baselineBin ? await startEdge(yaml, [], [], baselineBin) : null;
    if (baseline) started.push(baseline);
    const baselineFull = baselineBin ? await startEdge(fullYaml, [], ['--management-port', '0'], baselineBin) : null;
    if (baselineFull) started.push(baselineFull);
    const base = `http://127.0.0.1:${edge.info.port as number}`;
    const fullHeaders = { 'x-api-key': key.value, authorization: 'Bearer bench' };
    const targets: Target[] = [
      { name: 'plain proxy route', url: `${base}/plain`, pid: edge.proc.pid },
      // The full pipeline's request (API key and token headers, forwarded upstream too) on the plain
      // route: what the pipeline's stages cost, apart from what a larger request costs anyway.
      { name: 'plain proxy route, same request as full', url: `${base}/plain`, headers: fullHeaders, pid: edge.proc.pid },
      { name: 'API key + 4 throttle levels + quota', url: `${base}/guarded`, headers: { 'x-api-key': key.value }, pid: edge.proc.pid },
      { name: 'route over its limit (429s)', url: `${base}/limited`, pid: edge.proc.pid },
      // What each part of the full pipeline adds: metrics and the access log, then the authorizer.
      { name: 'plain route, metrics + access log on', url: `http://127.0.0.1:${full.info.port as number}/plain`, pid: full.proc.pid },
      { name: 'cached authorizer, metrics + access log on', url: `http://127.0.0.1:${full.info.port as number}/authorized`, headers: { authorization: 'Bearer bench' }, pid: full.proc.pid },
      {
        name: 'full pipeline (+ cached authorizer, metrics, access log)',
        url: `http://127.0.0.1:${full.info.port as number}/full`,
        headers: fullHeaders,
        pid: full.proc.pid,
      },
      ...(baseline
        ? [
            { name: 'baseline plain proxy route', url: `http://127.0.0.1:${baseline.info.port as number}/plain`, pid: baseline.proc.pid },
            { name: 'baseline guarded route', url: `http://127.0.0.1:${baseline.info.port as number}/guarded`, headers: { 'x-api-key': key.value }, pid: baseline.proc.pid },
            {
              name: 'baseline full pipeline',
              url: `http://127.0.0.1:${baselineFull!.info.port as number}/full`,
              headers: fullHeaders,
              pid: baselineFull!.proc.pid,
            },
          ]
        : []),
    ];
    const results = await measureAll(targets);
    // wrk (C) as well: autocannon's own CPU on 2 cores compresses the ratios between fast targets.
    const wrkResults = wrkBinary() ? await measureAll(targets, undefined, undefined, 'wrk') : null;
    if (!wrkResults) console.log('wrk is not installed (apt-get install wrk): the wrk table is skipped');
    const ratios: Ratio[] = [
      { label: 'guarded / plain', numerator: 'API key + 4 throttle levels + quota', denominator: 'plain proxy route', target: 0.9 },
      { label: 'full pipeline / plain', numerator: 'full pipeline (+ cached authorizer, metrics, access log)', denominator: 'plain proxy route', target: 0.9 },
      { label: 'full pipeline / plain, same request', numerator: 'full pipeline (+ cached authorizer, metrics, access log)', denominator: 'plain proxy route, same request as full' },
      ...(baseline
        ? [
            { label: 'baseline guarded / plain', numerator: 'baseline guarded route', denominator: 'baseline plain proxy route' },
            { label: 'baseline full pipeline / plain', numerator: 'baseline full pipeline', denominator: 'baseline plain proxy route' },
          ]
        : []),
    ];
    // BENCH_SLICES: the same ratios again in paired one-second slices (harness.ts, measurePaired).
    const paired = await measurePaired(targets, ratios);
    const wrkPaired = wrkResults ? await measurePaired(targets, ratios, 'wrk') : [];
    let profiles: { edgeCpuProfileTop: { fn: string; selfPct: number }[]; fullEdgeCpuProfileTop: { fn: string; selfPct: number }[] } | undefined;
    if (profileDir && fullProfileDir) {
      await Promise.all([edge.stop(), full.stop()]); // each writes its profile on exit
      profiles = { edgeCpuProfileTop: topFunctions(profileDir, 40), fullEdgeCpuProfileTop: topFunctions(fullProfileDir, 40) };
    }
    report('throttle', results, ratios, profiles ?? {}, paired);
    if (wrkResults) report('throttle-wrk', wrkResults, ratios, {}, wrkPaired);
  } finally {
    await Promise.all(started.map((p) => p.stop()));
    redis.disconnect();
    await deletePrefix(REDIS, prefix);
  }
}
