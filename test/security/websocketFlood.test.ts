import { afterAll, assert, beforeAll, describe, expect, it } from 'vitest';
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import type { ServerResponse } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { RedisServer, SHARED_REDIS_URL, deletePrefix, freePort, spawnTurnpike, startUpstream, testPrefix, type TurnpikeProcess, type Upstream } from '@turnpike/testing';
import { rawRequest } from '../../services/edge/test/fixtures.js';
import { signedRequest } from '../../services/edge/test/websocket/signing.js';
import { TestClient } from '../../services/edge/test/websocket/wsClient.js';
import { eventually, turnpike } from '../../services/worker/test/helpers.js';

// Threat model, WebSocket side: what one client can make an edge do. Each case names the attack and the
// answer the gateway gives. The edges are real `turnpike edge` processes, the attacker a separate
// process with the `ws` client (so its sending loop cannot slow down the test's own client).
const FLOODER = new URL('./wsFlooder.mjs', import.meta.url).pathname;

interface FloodResult {
  sent: number;
  closeCode: number;
  closeReason: string;
  ms: number;
}

function flood(url: string, count: number): Promise<FloodResult> {
  return new Promise((resolve, reject) => {
    const p = spawn(process.execPath, [FLOODER, url, String(count)], { stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    p.stdout.on('data', (d: Buffer) => (out += d.toString()));
    p.on('exit', (code) => (code === 0 && out ? resolve(JSON.parse(out) as FloodResult) : reject(new Error(`flooder exited ${code}: ${out}`))));
  });
}

const percentile = (xs: number[], p: number) => [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor((xs.length * p) / 100))] ?? NaN;

describe('WebSocket floods against one edge', () => {
  const prefix = testPrefix('wsflood');
  const dir = mkdtempSync(join(tmpdir(), 'tp-wsflood-'));
  const accessLog = join(dir, 'access.log');
  let edge: TurnpikeProcess;
  let port: number;
  let upstream: Upstream;
  const held: ServerResponse[] = [];
  const clients: TestClient[] = [];

  beforeAll(async () => {
    upstream = await startUpstream((_req, res) => held.push(res));
    port = await freePort();
    const file = join(dir, 'turnpike.yaml');
    writeFileSync(
      file,
      `
gateway:
  accessLog: { destination: ${accessLog} }
apis:
  - name: flood
    type: websocket
    basePath: /flood
    stages: { prod: {} }
    websocket:
      maxMessagesPerSecond: 50
      messageBurst: 100
      routes:
        $default: { integration: { type: mock, body: pong }, routeResponse: true }
  - name: slow
    type: websocket
    basePath: /slow
    stages: { prod: {} }
    websocket:
      maxPendingBytes: 4096
      routes:
        $default: { integration: { type: http_proxy, uri: "${upstream.url}/hold" } }
`,
    );
    edge = await spawnTurnpike(['edge', '--config', file, '--port', String(port), '--management-port=0', '--redis', SHARED_REDIS_URL, '--key-prefix', prefix], { timeoutMs: 60_000 });
  });

  afterAll(async () => {
    for (const c of clients) c.ws.terminate();
    for (const r of held) r.destroy();
    await edge?.stop('SIGKILL');
    await upstream?.close();
    await deletePrefix(SHARED_REDIS_URL, prefix);
    rmSync(dir, { recursive: true, force: true });
  });

  it('closes a client flooding messages with 1008, keeps other clients answered, and bounds its access-log lines', async () => {
    const good = await TestClient.connect(`ws://127.0.0.1:${port}/flood/prod`);
    clients.push(good);
    const roundTrip = async () => {
      const t = performance.now();
      good.send('ping');
      expect(await good.next()).toBe('pong');
      return performance.now() - t;
    };
    const before: number[] = [];
    for (let i = 0; i < 10; i++) before.push(await roundTrip());

    // 800,000 messages, as in the report that found the edge saturated (other clients' round trip x650).
    let flooding = true;
    const attack = flood(`ws://127.0.0.1:${port}/flood/prod`, 800_000).finally(() => (flooding = false));
    const during: number[] = [];
    const started = Date.now();
    // The well-behaved client keeps to 40 messages/s, under the API's limit of 50.
    while (flooding || Date.now() - started < 1_000) {
      during.push(await roundTrip());
      await new Promise((r) => setTimeout(r, 25));
    }
    const result = await attack;

    expect(result.closeCode).toBe(1008);
    expect(result.closeReason).toBe('Message rate exceeded');
    expect(result.ms).toBeLessThan(5_000);
    // The well-behaved client was never closed and stayed answered within a bound that does not depend on
    // how long the flood would have gone on.
    expect(good.ws.readyState).toBe(good.ws.OPEN);
    const p99 = percentile(during, 99);
    console.log(`round trip before: p50 ${percentile(before, 50).toFixed(1)} ms; during the flood (${during.length} samples): p50 ${percentile(during, 50).toFixed(1)} ms, p99 ${p99.toFixed(1)} ms, max ${Math.max(...during).toFixed(1)} ms; flooder: ${JSON.stringify(result)}`);
    expect(p99).toBeLessThan(1_000);

    // Access log: the flooder's connection writes at most its burst of message lines, plus the line
    // saying why it was closed, however many messages it sent.
    const lines = await eventually(() => {
      const all = readFileSync(accessLog, 'utf8').trim().split('\n').map((l) => JSON.parse(l) as Record<string, string>);
      const refused = all.find((l) => l.status === '429');
      if (!refused) return undefined;
      const mine = all.filter((l) => l.connectionId === refused.connectionId);
      return mine.some((l) => l.eventType === 'DISCONNECT') ? mine : undefined;
    }, 'the flooder\'s access-log lines', 5_000);
    const messages = lines.filter((l) => l.eventType === 'MESSAGE');
    expect(messages.length).toBeLessThanOrEqual(100 + 1 + Math.ceil((result.ms / 1000) * 50));
    expect(messages.at(-1)).toMatchObject({ status: '429', error: 'Message rate exceeded' });
    expect(result.sent).toBeGreaterThan(messages.length);
  });

  it('closes a client whose messages pile up waiting for a slow integration with 1008', async () => {
    const c = await TestClient.connect(`ws://127.0.0.1:${port}/slow/prod`);
    clients.push(c);
    // 1,500 bytes each against 4,096 bytes that may wait: the third passes the limit.
    for (let i = 0; i < 5; i++) c.send('x'.repeat(1_500));
    expect(await c.closed).toEqual({ code: 1008, reason: 'Too many messages waiting for their integration' });
    expect(held.length).toBeLessThanOrEqual(2);
  });

  it('counts a limit close in the metrics', async () => {
    const metrics = (await rawRequest(edge.info.managementPort as number, { path: '/metrics' })).body.toString();
    expect(metrics).toMatch(/turnpike_websocket_limit_closes_total\{[^}]*limit="message_rate"[^}]*\} 1/);
    expect(metrics).toMatch(/turnpike_websocket_limit_closes_total\{[^}]*limit="pending_bytes"[^}]*\} 1/);
  });
});

describe('WebSocket registry writes during a Redis outage', () => {
  const prefix = 'tpsec';
  const dir = mkdtempSync(join(tmpdir(), 'tp-wsreg-'));
  let redis: RedisServer;
  let a: TurnpikeProcess;
  let b: TurnpikeProcess;
  let creds: { accessKeyId: string; secretAccessKey: string };
  const clients: TestClient[] = [];

  beforeAll(async () => {
    // Persisted (appendonly): after the restart the node entries are still there, so nothing but the
    // retried write can register a connection opened during the outage.
    redis = await RedisServer.start(['--appendonly', 'yes', '--appendfsync', 'always']);
    const file = join(dir, 'turnpike.yaml');
    writeFileSync(
      file,
      `
gateway:
  websocket: { heartbeatMs: 200, nodeTimeoutMs: 30000 }
apis:
  - name: chat
    type: websocket
    stages: { prod: {} }
    websocket:
      routes:
        $default: { integration: { type: mock, body: pong }, routeResponse: true }
`,
    );
    const args = async () => ['edge', '--config', file, '--port', String(await freePort()), '--management-port=0', '--redis', redis.url, '--key-prefix', prefix];
    [a, b] = await Promise.all([spawnTurnpike(await args(), { timeoutMs: 60_000 }), spawnTurnpike(await args(), { timeoutMs: 60_000 })]);
    const created = await turnpike(['credentials', 'create', '--json', '--config', file, '--redis', redis.url, '--key-prefix', prefix]);
    expect(created.code).toBe(0);
    creds = JSON.parse(created.stdout) as typeof creds;
  });

  afterAll(async () => {
    for (const c of clients) c.ws.terminate();
    await Promise.all([a?.stop('SIGKILL'), b?.stop('SIGKILL')]);
    await redis?.destroy();
    rmSync(dir, { recursive: true, force: true });
  });

  it('registers a connection opened while Redis was down once Redis is back, so other nodes reach it (not 410)', async () => {
    await redis.stop('SIGKILL');
    const c = await TestClient.connect(`ws://127.0.0.1:${a.info.port as number}/prod`);
    clients.push(c);
    const failures = async () => {
      const text = (await rawRequest(a.info.managementPort as number, { path: '/metrics' })).body.toString();
      return Number(/turnpike_websocket_registry_write_failures_total\{op="register"[^}]*\} (\d+)/.exec(text)?.[1] ?? 0);
    };
    await eventually(async () => ((await failures()) >= 1 ? true : undefined), 'a failed registry write, counted', 5_000);
    await redis.start(['--appendonly', 'yes', '--appendfsync', 'always']);

    const r = new Redis(redis.url);
    try {
      const key = await eventually(async () => (await r.keys(`${prefix}:wsconn:*`))[0], 'the connection in the registry', 10_000);
      const id = /\{(.+)\}$/.exec(key)?.[1];
      assert.isDefined(id, `${key} ends with {connection id}`);
      const got = await signedRequest(b.info.port as number, 'GET', `/prod/@connections/${encodeURIComponent(id)}`, '', creds, 'us-east-1');
      expect(got.status).toBe(200);
      const posted = await signedRequest(b.info.port as number, 'POST', `/prod/@connections/${encodeURIComponent(id)}`, 'through node B', creds, 'us-east-1');
      expect(posted.status).toBe(200);
      expect(await c.next()).toBe('through node B');
    } finally {
      r.disconnect();
    }
  });
});
