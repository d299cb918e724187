import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Redis } from 'ioredis';
import { ControlCallError } from '@turnpike/control';
import { NodeHeartbeats, RedisKeys, type NodeReport as Report } from '@turnpike/redis';
import { SHARED_REDIS_URL, spawnTurnpike } from '@turnpike/testing';
import { mockApi, putAndDeploy, startControlPlane, type ControlPlane } from './fixtures.js';
import { difference, quantile, readEdgeMetrics } from '../src/metrics/traffic.js';

interface NodeReport {
  id: string;
  kind: string;
  managementUrl: string | null;
  revision: number;
  ready: boolean;
}
interface Sample {
  t: number;
  edges: number;
  rps: number;
  p50: number | null;
}

let cp: ControlPlane;
beforeAll(async () => {
  cp = await startControlPlane('fleet');
});
afterAll(async () => {
  await cp?.close();
});

const nodes = async () => (await cp.client.call<{ nodes: NodeReport[] }>('GET', '/v1/nodes')).nodes;

describe('nodes and metrics across edges', () => {
  it('lists every edge from its heartbeat, with the revision it serves, and forgets one that stops', async () => {
    await putAndDeploy(cp.client, 'shop', mockApi('one'));
    const a = await cp.edge({ heartbeatMs: 200 });
    // The second edge is a process of its own: stopped with SIGTERM, it removes its record as it exits.
    const b = await spawnTurnpike(['edge', '--control', SHARED_REDIS_URL, '--key-prefix', cp.prefix, '--port', '0', '--management-port', '0']);
    const bPort = b.info.port as number;
    const bManagement = b.info.managementPort as number;
    const { revision } = await cp.client.call<{ revision: number }>('GET', '/v1/revision');
    await expect.poll(async () => (await nodes()).filter((n) => n.revision === revision && n.ready).length, { timeout: 3_000 }).toBe(2);
    const listed = await nodes();
    expect(listed.map((n) => n.managementUrl).sort()).toEqual([`http://127.0.0.1:${a.managementPort}`, `http://127.0.0.1:${bManagement}`].sort());

    // Traffic on both edges is summed: the fleet's rate is seen by scraping each one.
    const until = Date.now() + 4_000;
    let fleet: Sample | undefined;
    while (Date.now() < until) {
      await Promise.all([a.port, bPort].flatMap((port) => Array.from({ length: 20 }, () => fetch(`http://127.0.0.1:${port}/prod/which`).then((r) => r.text()))));
      const { samples } = await cp.client.call<{ samples: Sample[] }>('GET', '/v1/metrics');
      fleet = samples.findLast((s) => s.edges === 2 && s.rps > 0);
      if (fleet) break;
    }
    expect(fleet).toBeDefined();
    expect(fleet!.p50).toBeGreaterThan(0);
    const { samples: newer } = await cp.client.call<{ samples: Sample[] }>('GET', `/v1/metrics?since=${fleet!.t}`);
    expect(newer.every((s) => s.t > fleet!.t)).toBe(true);

    await b.stop('SIGTERM');
    expect((await nodes()).map((n) => n.managementUrl)).toEqual([`http://127.0.0.1:${a.managementPort}`]);
  });

  it('survives an edge stopped twice (a test and its teardown): the management listener closes once', async () => {
    // Closing a uWS listen socket twice is a segmentation fault; the second stop used to do it.
    const e = await cp.edge({ heartbeatMs: 200 });
    await e.stop(200);
    await e.stop(200);
    expect((await nodes()).some((n) => n.managementUrl === `http://127.0.0.1:${e.managementPort}`)).toBe(false);
  });

  it('leaves out and deletes a node silent for three heartbeat intervals (it died without removing itself)', async () => {
    const redis = new Redis(SHARED_REDIS_URL);
    const heartbeats = new NodeHeartbeats(redis, new RedisKeys(cp.prefix));
    const base = { kind: 'worker', version: '0', host: 'h', pid: 1, startedAt: 0, intervalMs: 1_000, managementUrl: null, revision: -1, cpuPercent: 0, rssBytes: 0, heapUsedBytes: 0, connections: 0, ready: true, readiness: '' } as const;
    const now = Date.now();
    await heartbeats.report({ ...base, id: 'dead', at: now - 3_001 } satisfies Report);
    await heartbeats.report({ ...base, id: 'late', at: now - 2_900 } satisfies Report);
    expect((await heartbeats.list(now)).map((n) => n.id).filter((id) => id === 'dead' || id === 'late')).toEqual(['late']);
    expect(await redis.hexists(new RedisKeys(cp.prefix).tagged('nodes', 'all'), 'dead')).toBe(0);
    redis.disconnect();
  });

  it('answers an OpenAPI document sent as text with each problem at its line', async () => {
    const text = 'openapi: 3.0.1\ninfo: { title: t, version: "1" }\npaths:\n  /a:\n    get:\n      x-amazon-apigateway-integration:\n        type: nope\n';
    const err = await cp.client.call('PUT', '/v1/apis/bad', { body: { openapi: text } }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ControlCallError);
    const issues = ((err as ControlCallError).body as { error: { issues: { line?: number }[] } }).error.issues;
    expect(issues.length).toBeGreaterThan(0);
    expect(issues[0]?.line).toBe(7);
  });
});

describe('reading /metrics', () => {
  const text = (n: number, le1: number) => `# HELP turnpike_requests_total x
turnpike_requests_total{api="shop",stage="prod",route="GET /a",status_class="2XX"} ${n}
turnpike_requests_total{api="shop",stage="prod",route="GET /a",status_class="5XX",canary="true"} 2
turnpike_request_latency_ms_bucket{api="shop",stage="prod",route="GET /a",status_class="2XX",le="1"} ${le1}
turnpike_request_latency_ms_bucket{api="shop",stage="prod",route="GET /a",status_class="2XX",le="10"} ${n}
turnpike_request_latency_ms_bucket{api="shop",stage="prod",route="GET /a",status_class="2XX",le="+Inf"} ${n}
turnpike_websocket_connections{api="chat",stage="prod",route="$connect"} 3
`;

  it('sums series, keeps the canary side apart, and interpolates quantiles inside a bucket', () => {
    const m = readEdgeMetrics(text(100, 50));
    expect(m.total.requests).toBe(102);
    expect(m.total.r5xx).toBe(2);
    expect(m.sides.get('shop\tprod\tcanary')!.r5xx).toBe(2);
    expect(m.wsConnections).toBe(3);
    expect(quantile(m.total.latency, 0.5)).toBe(1);
    expect(quantile(m.total.latency, 0.75)).toBe(5.5);
  });

  it('takes a counter that went down as a restarted node, never a negative rate', () => {
    const before = readEdgeMetrics(text(100, 50)).total;
    expect(difference(readEdgeMetrics(text(130, 60)).total, before).requests).toBe(30);
    expect(difference(readEdgeMetrics(text(5, 5)).total, before).requests).toBe(7);
  });
});
