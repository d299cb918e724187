import { mkdtempSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { exportJWK, generateKeyPair, SignJWT } from 'jose';
import { deletePrefix } from '@turnpike/testing';
import { request } from 'undici';
import { measureAll, quantileOf, report, type Target } from '../harness.js';
import { ROOT, TURNPIKE, start, startUpstream, type Running } from '../processes.js';

/**
 * Issue 5's benchmark: one proxy route without an authorizer, the same route behind a cached Lambda TOKEN
 * authorizer (one token: every request after the first is a policy-cache hit on the node), and behind a
 * JWT authorizer (a signature check per request), side by side in one run; target ≥ 0.9× for the cached
 * authorizer. Then, one request at a time, the latency of a cache miss (the authorizer runs on a worker),
 * of a shared hit (a second edge finds the policy in Redis) and of a node hit.
 *
 * BENCH_SECONDS (default 8) per target; BENCH_MISSES (default 200) sequential misses.
 */
const REDIS = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
const MISSES = Number(process.env.BENCH_MISSES ?? 200);

export async function run(): Promise<void> {
  const prefix = `bench-auth-${process.pid}`;
  const started: Running[] = [];
  const keys = await generateKeyPair('RS256');
  const jwk = { ...(await exportJWK(keys.publicKey)), kid: 'bench', alg: 'RS256', use: 'sig' };
  const jwks = createServer((_, res) => res.end(JSON.stringify({ keys: [jwk] })));
  await new Promise<void>((r) => jwks.listen(0, '127.0.0.1', r));
  const issuer = `http://127.0.0.1:${(jwks.address() as AddressInfo).port}`;
  try {
    const upstream = await startUpstream();
    started.push(upstream);
    const up = `http://127.0.0.1:${upstream.info.port}`;
    const dir = mkdtempSync(join(tmpdir(), 'tp-bench-auth-'));
    const file = join(dir, 'turnpike.yaml');
    writeFileSync(
      file,
      `
functions:
  tokenAuth: { handler: ${join(ROOT, 'loadtests/functions/tokenAuthorizer.handler')} }
authorizers:
  tok: { type: token, function: tokenAuth, resultTtlSeconds: 3600 }
  idp: { type: jwt, issuer: "${issuer}", audiences: [bench], jwksUri: "${issuer}/keys" }
apis:
  - name: bench
    routes:
      GET /open: { integration: { type: http_proxy, uri: "${up}/item" } }
      GET /cached: { authorizer: tok, integration: { type: http_proxy, uri: "${up}/item" } }
      GET /jwt: { authorizer: idp, integration: { type: http_proxy, uri: "${up}/item" } }
`,
    );
    const common = ['--config', file, '--redis', REDIS, '--key-prefix', prefix];
    const worker = await start(process.execPath, [TURNPIKE, 'worker', ...common, '--concurrency', '2'], { readyEvent: 'ready', env: { LOG_LEVEL: 'warn' } });
    started.push(worker);
    const [edgeA, edgeB] = await Promise.all(
      [0, 1].map(() => start(process.execPath, [TURNPIKE, 'edge', ...common, '--port', '0', '--management-port=-1'], { env: { LOG_LEVEL: 'warn' } })),
    );
    started.push(edgeA!, edgeB!);
    const a = `http://127.0.0.1:${edgeA!.info.port}`;
    const b = `http://127.0.0.1:${edgeB!.info.port}`;
    const jwt = await new SignJWT({ sub: 'bench', scope: 'read' }).setProtectedHeader({ alg: 'RS256', kid: 'bench' }).setIssuer(issuer).setAudience('bench').setExpirationTime('2h').sign(keys.privateKey);

    const targets: Target[] = [
      { name: 'route without authorizer', url: `${a}/open`, pid: edgeA!.proc.pid },
      { name: 'route with cached authorizer', url: `${a}/cached`, headers: { authorization: 'Bearer bench-token' }, pid: edgeA!.proc.pid },
      { name: 'route with JWT authorizer', url: `${a}/jwt`, headers: { authorization: `Bearer ${jwt}` }, pid: edgeA!.proc.pid },
    ];
    const results = await measureAll(targets);

    // Latency one request at a time: a fresh token per request is a miss on A; the same token on B is a
    // hit in Redis; again on B, a hit in B's memory.
    const miss: number[] = [];
    const shared: number[] = [];
    const node: number[] = [];
    for (let i = 0; i < MISSES; i++) {
      const headers = { authorization: `Bearer miss-${process.pid}-${i}` };
      miss.push(await timed(`${a}/cached`, headers));
      shared.push(await timed(`${b}/cached`, headers));
      node.push(await timed(`${b}/cached`, headers));
    }
    report(
      'auth',
      results,
      [
        { label: 'cached authorizer / none', numerator: 'route with cached authorizer', denominator: 'route without authorizer', target: 0.9 },
        { label: 'JWT authorizer / none', numerator: 'route with JWT authorizer', denominator: 'route without authorizer' },
      ],
      { sequentialLatencyMs: { cacheMiss: percentiles(miss), sharedCacheHit: percentiles(shared), nodeCacheHit: percentiles(node), requests: MISSES } },
    );
  } finally {
    await Promise.all(started.map((p) => p.stop()));
    jwks.close();
    await deletePrefix(REDIS, `${prefix}:`);
  }
}

async function timed(url: string, headers: Record<string, string>): Promise<number> {
  const t = performance.now();
  const res = await request(url, { headers });
  await res.body.dump();
  if (res.statusCode !== 200) throw new Error(`${url}: status ${res.statusCode}`);
  return performance.now() - t;
}

function percentiles(ms: number[]): { p50: number; p99: number } {
  const s = [...ms].sort((x, y) => x - y);
  const at = (q: number) => Math.round(quantileOf(s, q) * 100) / 100;
  return { p50: at(0.5), p99: at(0.99) };
}
