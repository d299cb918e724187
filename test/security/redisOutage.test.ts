import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { Agent, request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseConfig } from '@turnpike/config';
import { CredentialStore, Edge, type Credential } from '@turnpike/edge';
import { ApiKeyStore, RedisKeys, connectRedis } from '@turnpike/redis';
import { PolicyCache } from '@turnpike/edge/internals';
import { RedisServer, spawnTurnpike, startUpstream, testPrefix, type TurnpikeProcess, type Upstream } from '@turnpike/testing';
import { signedRequest } from '../../services/edge/test/websocket/signing.js';
import { TestClient } from '../../services/edge/test/websocket/wsClient.js';

/**
 * Threat: Redis goes away (crash, restart, partition) while the gateway is under load. Expected: every
 * request is answered within its bound (gateway.redis.timeoutMs + a margin for a busy machine), routes
 * that do not need Redis, or that hold known-good data (a verified API key, a cached authorizer
 * policy, leased throttle tokens, fail-open throttling), keep answering 200; a function route answers 503
 * while its invocation cannot be queued; nothing bursts 503 once Redis is back.
 *
 * A private redis-server (append-only file, so keys survive like a production restart) is killed for
 * 5 s under steady open-loop load on six route kinds, then restarted; then frozen (SIGSTOP) for 5 s, the
 * harder case where connections stay open and only timeouts tell. The tables printed are the ones in
 * docs/security-redis.md.
 */

const BEFORE_MS = 2_000;
/** The outage itself: a deliberate duration, not a wait for an event. */
const OUTAGE_MS = 5_000;
const AFTER_MS = 5_000;
/** gateway.redis.timeoutMs in the config below (the default). */
const REDIS_BOUND_MS = 500;
/** What a shared, busy 2-core machine may add to any answer. */
const MARGIN_MS = 1_000;
/** QueueFunctionInvoker's reply read blocks this long; a queued invocation waits for one read at most. */
const REPLY_BLOCK_MS = 1_000;
/** Function routes may answer 503 until their connection is back: reconnect backoff (≤ 500 ms) + one bound. */
const FUNCTION_RECOVERY_MS = 500 + REDIS_BOUND_MS + MARGIN_MS;
/** A request unanswered this long is a stall (status 0 in the samples). */
const CLIENT_TIMEOUT_MS = 10_000;
/** Each route kind gets one request every EVERY_MS (50 per second), whether earlier ones were answered or not. */
const EVERY_MS = 20;
const PERSIST = ['--appendonly', 'yes', '--appendfsync', 'always'];

const FUNCTIONS = fileURLToPath(new URL('./functions/outage', import.meta.url));
const prefix = testPrefix('outage');
const dir = mkdtempSync(join(tmpdir(), 'tp-outage-'));

const config = (upstream: string) => `
gateway:
  apiKeys: { cacheTtlMs: 1000 }          # keys go stale during the outage: served stale, checked again after
  throttle: { redisTimeoutMs: 50 }       # fail-open (the default)
functions:
  hello: { handler: "${FUNCTIONS}.hello", timeoutMs: 5000 }
  allow: { handler: "${FUNCTIONS}.allow", timeoutMs: 5000 }
authorizers:
  tok: { type: token, function: allow, resultTtlSeconds: 300 }
apis:
  - name: outage
    routes:
      GET /mock: { integration: { type: mock, body: m } }
      GET /proxy: { integration: { type: http_proxy, uri: "${upstream}/p" } }
      GET /function: { integration: { type: function, function: hello, timeoutMs: 5000 } }
      GET /keyed: { apiKeyRequired: true, integration: { type: mock, body: k } }
      GET /authorized: { authorizer: tok, integration: { type: mock, body: a } }
      GET /throttled:
        throttle: { rateLimit: 200, burstLimit: 100 }
        integration: { type: mock, body: t }
  - name: chat
    type: websocket
    basePath: /chat
    stages: { prod: {} }
    websocket:
      routes:
        $connect: { apiKeyRequired: true, integration: { type: mock, body: ok } }
        $default: { integration: { type: mock, body: x } }
`;

interface Sample {
  kind: string;
  /** performance.now() when sent. */
  at: number;
  ms: number;
  /** 0: no answer (a stall past CLIENT_TIMEOUT_MS, or the connection failed). */
  status: number;
}

let server: RedisServer;
let upstream: Upstream;
let worker: TurnpikeProcess | undefined;
let edge: Edge;
let kinds: Record<string, { path: string; headers: Record<string, string> }>;
let creds: Credential;
let keyValue: string;
const edgeLog: string[] = [];

beforeAll(async () => {
  server = await RedisServer.start(PERSIST);
  const redis = connectRedis({ url: server.url, name: 'outage-test' });
  const store = new ApiKeyStore(redis, new RedisKeys(prefix));
  const key = await store.createKey({ name: 'outage' });
  const plan = await store.createPlan({ name: 'outage', apiStages: [{ apiId: 'outage', stage: '$default' }, { apiId: 'chat', stage: 'prod' }], throttle: { rateLimit: 1000, burstLimit: 1000 } });
  await store.attachKey(plan.id, key.id);
  keyValue = key.value;
  creds = await new CredentialStore(redis, new RedisKeys(prefix)).create('outage');
  redis.disconnect();
  upstream = await startUpstream((_req, res) => res.end('p'));
  const yaml = config(upstream.url);
  const file = join(dir, 'turnpike.yaml');
  writeFileSync(file, yaml);
  worker = await spawnTurnpike(['worker', '--config', file, '--redis', server.url, '--key-prefix', prefix], { readyEvent: 'ready' });
  edge = await new Edge({
    config: parseConfig(yaml, file),
    port: 0,
    host: '127.0.0.1',
    managementPort: -1,
    redisUrl: server.url,
    keyPrefix: prefix,
    logger: pino({ level: 'info' }, { write: (line: string) => void edgeLog.push(line) }),
  }).start();
  kinds = {
    mock: { path: '/mock', headers: {} },
    'http proxy': { path: '/proxy', headers: {} },
    function: { path: '/function', headers: {} },
    'API key': { path: '/keyed', headers: { 'x-api-key': key.value } },
    authorizer: { path: '/authorized', headers: { authorization: 'Bearer outage' } },
    throttled: { path: '/throttled', headers: {} },
  };
}, 60_000);

afterAll(async () => {
  await edge?.stop(1000);
  await worker?.stop();
  await upstream?.close();
  await server?.destroy();
  rmSync(dir, { recursive: true, force: true });
});

function send(port: number, path: string, headers: Record<string, string>, agent: Agent): Promise<number> {
  return new Promise((resolve) => {
    const req = request({ host: '127.0.0.1', port, path, headers, agent, timeout: CLIENT_TIMEOUT_MS }, (res) => {
      res.resume();
      res.on('end', () => resolve(res.statusCode!));
      res.on('error', () => resolve(0));
    });
    req.on('timeout', () => req.destroy());
    req.on('error', () => resolve(0));
    req.end();
  });
}

/** Open-loop load: every route kind gets a request every EVERY_MS, answered or not. */
function startLoad(port: number): { samples: Sample[]; stop(): Promise<void> } {
  const samples: Sample[] = [];
  const inflight = new Set<Promise<void>>();
  // One agent per route kind, so one kind's stalled sockets never hold up another's.
  const lanes = Object.entries(kinds).map(([kind, { path, headers }]) => ({ kind, path, headers, agent: new Agent({ keepAlive: true, maxSockets: 64 }) }));
  const timer = setInterval(() => {
    lanes.forEach(({ kind, path, headers, agent }) => {
      const at = performance.now();
      const p = send(port, path, headers, agent).then((status) => void samples.push({ kind, at, ms: performance.now() - at, status }));
      inflight.add(p);
      void p.finally(() => inflight.delete(p));
    });
  }, EVERY_MS);
  return {
    samples,
    async stop() {
      clearInterval(timer);
      await Promise.all(inflight);
      for (const { agent } of lanes) agent.destroy();
    },
  };
}

interface Row {
  kind: string;
  phase: string;
  sent: number;
  answered: number;
  ok: number;
  e5xx: number;
  p99: number;
  max: number;
}

function summarize(kind: string, phase: string, s: Sample[]): Row {
  const ms = s.map((x) => x.ms).sort((a, b) => a - b);
  const answered = s.filter((x) => x.status !== 0);
  return {
    kind,
    phase,
    sent: s.length,
    answered: answered.length,
    ok: s.filter((x) => x.status >= 200 && x.status < 300).length,
    e5xx: s.filter((x) => x.status >= 500).length,
    p99: Math.round(ms[Math.min(ms.length - 1, Math.floor(ms.length * 0.99))] ?? 0),
    max: Math.round(ms[ms.length - 1] ?? 0),
  };
}

function table(rows: Row[]): string {
  const lines = ['| route kind | phase | sent | answered | 2xx | 5xx | p99 ms | max ms |', '| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: |'];
  for (const r of rows) lines.push(`| ${r.kind} | ${r.phase} | ${r.sent} | ${r.answered} | ${r.ok} | ${r.e5xx} | ${r.p99} | ${r.max} |`);
  return lines.join('\n');
}

interface Outcome {
  rows: Row[];
  samples: Map<string, { before: Sample[]; during: Sample[]; after: Sample[] }>;
  upAt: number;
  events: string[];
}

/** Steady load; `down()` at BEFORE_MS, `up()` OUTAGE_MS later; AFTER_MS more; then the table per kind and phase. */
async function outage(label: string, down: () => Promise<void>, up: () => Promise<void>): Promise<Outcome> {
  // Every kind works before the outage; this also caches the API key and the authorizer's policy.
  for (const [kind, { path, headers }] of Object.entries(kinds)) {
    const agent = new Agent();
    expect(await send(edge.port, path, headers, agent), kind).toBe(200);
    agent.destroy();
  }
  const logFrom = edgeLog.length;
  const load = startLoad(edge.port);
  await new Promise((r) => setTimeout(r, BEFORE_MS));
  const downAt = performance.now();
  await down();
  await new Promise((r) => setTimeout(r, OUTAGE_MS));
  await up();
  const upAt = performance.now();
  await new Promise((r) => setTimeout(r, AFTER_MS));
  await load.stop();

  const rows: Row[] = [];
  const samples = new Map<string, { before: Sample[]; during: Sample[]; after: Sample[] }>();
  for (const kind of Object.keys(kinds)) {
    const list = load.samples.filter((s) => s.kind === kind);
    const phases = {
      before: list.filter((s) => s.at < downAt),
      during: list.filter((s) => s.at >= downAt && s.at < upAt),
      after: list.filter((s) => s.at >= upAt),
    };
    samples.set(kind, phases);
    for (const [phase, inPhase] of Object.entries(phases)) rows.push(summarize(kind, phase, inPhase));
  }
  const lastFnError = Math.max(-1, ...samples.get('function')!.after.filter((s) => s.status >= 500).map((s) => Math.round(s.at - upAt)));
  const events = edgeLog
    .slice(logFrom)
    .map((l) => (JSON.parse(l) as { event?: string }).event ?? '')
    .filter((e) => e.startsWith('redis_') || e.startsWith('function_'));
  console.log(
    `${label}: Redis unavailable ${Math.round(upAt - downAt)} ms; one request per route kind every ${EVERY_MS} ms\n${table(rows)}\n` +
      `function route: last 5xx ${lastFnError < 0 ? 'none' : `${lastFnError} ms`} after Redis was back; edge log events: ${events.join(', ')}`,
  );
  return { rows, samples, upAt, events };
}

/** What every outage must come to, whatever its kind. */
function expectBounded({ rows, samples, upAt }: Outcome): void {
  for (const r of rows) {
    expect(r.sent, `${r.kind} ${r.phase}: load kept up`).toBeGreaterThan(0);
    // Nothing stalls: every request is answered within its bound. Invocations already queued when Redis
    // went away wait for one reply read (block + bound); every other request waits one bound at most.
    expect(r.answered, `${r.kind} ${r.phase}: every request answered`).toBe(r.sent);
    const bound = r.kind === 'function' ? REPLY_BLOCK_MS + REDIS_BOUND_MS : REDIS_BOUND_MS;
    expect(r.max, `${r.kind} ${r.phase}: slowest answer`).toBeLessThan(bound + MARGIN_MS);
  }
  // Routes that need no Redis, or hold what they need (a verified key served stale, a cached policy,
  // fail-open throttling): never a 5xx, during the outage or after it (no 503 burst on recovery).
  for (const r of rows.filter((x) => x.kind !== 'function')) expect(r.e5xx, `${r.kind} ${r.phase}: 5xx`).toBe(0);
  // The function route answers 503 while its invocations cannot be queued, and serves again once Redis is back.
  const fn = samples.get('function')!;
  expect(fn.during.filter((s) => s.status !== 200 && s.status !== 503)).toEqual([]);
  expect(fn.during.filter((s) => s.status === 503).length).toBeGreaterThan(0);
  expect(fn.after.filter((s) => s.status !== 200 && s.at - upAt > FUNCTION_RECOVERY_MS)).toEqual([]);
}

describe('Redis outages under load', () => {
  it('killed for 5 s and restarted: every request answered within its bound, no 503 burst after', async () => {
    const outcome = await outage(
      'killed (SIGKILL) and restarted',
      () => server.stop(), // resolved on the process's exit
      () => server.start(PERSIST), // resolved once it accepts connections
    );
    expectBounded(outcome);
    expect(outcome.events).toContain('redis_unavailable');
    expect(outcome.events).toContain('redis_available');
  }, 60_000);

  it('hung for 5 s (SIGSTOP: connections open, nothing answers): the same, through timeouts instead of refused connections', async () => {
    const outcome = await outage(
      'hung (SIGSTOP) and resumed',
      async () => server.pause(),
      async () => server.resume(),
    );
    expectBounded(outcome);
  }, 60_000);

  it('WebSocket APIs while Redis is down: $connect admits a verified key and refuses an unverifiable one 503; @connections 503 within the bound', async () => {
    const call = () => signedRequest(edge.port, 'GET', '/chat/prod/@connections/nobody', '', creds);
    const wsUrl = `ws://127.0.0.1:${edge.port}/chat/prod`;
    expect((await call()).status).toBe(410);
    (await TestClient.connect(wsUrl, { headers: { 'x-api-key': keyValue } })).ws.close();
    await server.stop();
    const client = await TestClient.connect(wsUrl, { headers: { 'x-api-key': keyValue } });
    client.ws.close();
    await expect(TestClient.connect(wsUrl, { headers: { 'x-api-key': 'never-seen' } })).rejects.toMatchObject({ status: 503 });
    const t0 = performance.now();
    const down = await call();
    expect(performance.now() - t0).toBeLessThan(REDIS_BOUND_MS + MARGIN_MS);
    expect(down.status).toBe(503);
    expect(down.headers['x-amzn-errortype']).toBe('ServiceUnavailableException');
    await server.start(PERSIST);
    // Answered at once (503) until this node's connection is back, within its reconnect backoff.
    const deadline = performance.now() + 500 + REDIS_BOUND_MS + MARGIN_MS;
    let status = 0;
    while (status !== 410 && performance.now() < deadline) {
      status = (await call()).status;
      expect([410, 503]).toContain(status);
    }
    expect(status).toBe(410);
  }, 30_000);

  it('the shared policy cache under a hung Redis: its GET and SET each give up within the bound, the authorizer still decides', async () => {
    const redis = connectRedis({ url: server.url, name: 'outage-policy-cache', failFast: true, requestTimeoutMs: REDIS_BOUND_MS });
    try {
      await new Promise((r) => redis.once('ready', r));
      const cache = new PolicyCache({ redis, keys: new RedisKeys(prefix), logger: pino({ level: 'silent' }) });
      const result = { principalId: 'p', context: null, usageIdentifierKey: null, allow: ['arn:*'], deny: [] };
      server.pause();
      const t0 = performance.now();
      // A miss: GET (no answer), the authorizer runs, SET (no answer); two bounds at most.
      const entry = await cache.fetch('ns', 'token', 60_000, async () => result);
      const waited = performance.now() - t0;
      server.resume();
      expect(entry.result).toEqual(result);
      expect(waited).toBeLessThan(2 * REDIS_BOUND_MS + MARGIN_MS);
      expect(cache.stats.redisErrors).toBe(2);
    } finally {
      server.resume();
      redis.disconnect();
    }
  }, 30_000);
});
