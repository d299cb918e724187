import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { measureAll, measurePaired, report, wrkBinary, type Ratio, type Target } from '../harness.js';
import { ROOT, start, startEdge, startNginx, startUpstream, type Running } from '../processes.js';
import { topFunctions } from '../cpuProfile.js';

/**
 * Issue 2's benchmark: the same small JSON response from one fast upstream, measured direct, through
 * nginx (one worker, upstream keep-alive), through the least proxy this runtime can be
 * (loadtests/servers/minimalProxy.mjs: uWS and a net.Socket, nothing else) and through one Turnpike
 * edge process, side by side.
 * BENCH_PROFILE=1 also records a CPU profile of the edge under load and prints where its time goes.
 */
export async function run(): Promise<void> {
  const started: Running[] = [];
  try {
    const upstream = await startUpstream();
    started.push(upstream);
    const upPort = upstream.info.port as number;
    const nginx = await startNginx(upPort);
    if (typeof nginx === 'string') console.log(nginx);
    else started.push(nginx);
    // This runtime's floor: a proxy on the same uWS and net.Socket with nothing of a gateway in it.
    const floor = await start(process.execPath, [join(ROOT, 'loadtests/servers/minimalProxy.mjs'), String(upPort), '0']);
    started.push(floor);
    const profileDir = process.env.BENCH_PROFILE ? mkdtempSync(join(tmpdir(), 'tp-prof-')) : null;
    const yaml = `
apis:
  - name: bench
    routes:
      GET /item: { integration: { type: http_proxy, uri: "http://127.0.0.1:${upPort}/item" } }
      GET /mock: { integration: { type: mock, body: '{"ok":true}' } }
`;
    const edge = await startEdge(yaml, profileDir ? ['--cpu-prof', `--cpu-prof-dir=${profileDir}`] : []);
    started.push(edge);
    // Another build's edge beside this one (a change's before and after in one run).
    const baselineBin = process.env.BENCH_BASELINE;
    const baseline = baselineBin ? await startEdge(yaml, [], [], baselineBin) : null;
    if (baseline) started.push(baseline);

    const targets: Target[] = [
      { name: 'upstream direct', url: `http://127.0.0.1:${upPort}/item`, pid: upstream.proc.pid },
      ...(typeof nginx === 'string' ? [] : [{ name: 'nginx proxy (1 worker)', url: `http://127.0.0.1:${nginx.info.port}/item`, pid: nginxWorkerPid(nginx.proc.pid!) }]),
      { name: 'runtime floor (bare uWS + net proxy)', url: `http://127.0.0.1:${floor.info.port as number}/item`, pid: floor.proc.pid },
      { name: 'turnpike proxy (1 process)', url: `http://127.0.0.1:${edge.info.port}/item`, pid: edge.proc.pid },
      { name: 'turnpike mock route', url: `http://127.0.0.1:${edge.info.port}/mock`, pid: edge.proc.pid },
      ...(baseline ? [{ name: 'baseline turnpike proxy', url: `http://127.0.0.1:${baseline.info.port}/item`, pid: baseline.proc.pid }] : []),
    ];
    const results = await measureAll(targets);
    // wrk (C) as well: it leaves more of the 2 cores to the servers than autocannon does.
    const wrkResults = wrkBinary() ? await measureAll(targets, undefined, undefined, 'wrk') : null;
    if (!wrkResults) console.log('wrk is not installed (apt-get install wrk): the wrk table is skipped');
    const ratios: Ratio[] = [
      { label: 'turnpike / nginx', numerator: 'turnpike proxy (1 process)', denominator: 'nginx proxy (1 worker)', target: 0.8 },
      { label: 'turnpike / direct', numerator: 'turnpike proxy (1 process)', denominator: 'upstream direct' },
      { label: 'nginx / direct', numerator: 'nginx proxy (1 worker)', denominator: 'upstream direct' },
      { label: 'runtime floor / nginx', numerator: 'runtime floor (bare uWS + net proxy)', denominator: 'nginx proxy (1 worker)' },
      { label: 'turnpike / runtime floor', numerator: 'turnpike proxy (1 process)', denominator: 'runtime floor (bare uWS + net proxy)' },
      ...(baseline ? [{ label: 'turnpike / baseline', numerator: 'turnpike proxy (1 process)', denominator: 'baseline turnpike proxy' }] : []),
    ];
    // BENCH_SLICES: the same ratios again in paired one-second slices (harness.ts, measurePaired).
    const paired = await measurePaired(targets, ratios);
    const wrkPaired = wrkResults ? await measurePaired(targets, ratios, 'wrk') : [];
    let profile: { fn: string; selfPct: number }[] | undefined;
    if (profileDir) {
      await edge.stop(); // writes the profile on exit
      profile = topFunctions(profileDir);
    }
    report('proxy', results, ratios, profile ? { edgeCpuProfileTop: profile } : {}, paired);
    if (wrkResults) report('proxy-wrk', wrkResults, ratios, {}, wrkPaired);
  } finally {
    await Promise.all(started.map((p) => p.stop()));
  }
}

/** nginx's master forks the worker that serves; its CPU is the one to count. */
function nginxWorkerPid(masterPid: number): number | undefined {
  try {
    const children = readFileSync(`/proc/${masterPid}/task/${masterPid}/children`, 'utf8').trim().split(/\s+/).map(Number);
    return children[0] || undefined;
  } catch {
    return undefined;
  }
}
