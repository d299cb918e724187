// The management listener answers HTTP/1.0, which the edge's uWebSockets.js listener refuses with 505:
// this is the health-check path for load balancers and tools that speak only HTTP/1.0 (docs/edge.md).
import pino from 'pino';
import { afterAll, assert, beforeAll, describe, expect, it } from 'vitest';
import { parseConfig } from '@turnpike/config';
import { Edge } from '@turnpike/edge';
import { SHARED_REDIS_URL, testPrefix } from '@turnpike/testing';
import { header, RawConnection } from './rawHttp.js';

let edge: Edge;

beforeAll(async () => {
  edge = await new Edge({
    config: parseConfig('apis:\n  - name: m\n    basePath: /\n    routes:\n      GET /mock: { integration: { type: mock } }\n', 'management.yaml'),
    port: 0,
    host: '127.0.0.1',
    managementPort: 0,
    redisUrl: SHARED_REDIS_URL,
    keyPrefix: testPrefix('http-management'),
    logger: pino({ level: 'silent' }),
  }).start();
});

afterAll(async () => {
  await edge?.stop(1000);
});

async function exchange(port: number, request: string, n = 1) {
  const c = new RawConnection(port);
  await c.ready;
  await c.write(request);
  const rs = await c.responses(n);
  return { c, rs };
}

describe('HTTP/1.0', () => {
  it('the edge listener refuses it with 505 and closes', async () => {
    const { c, rs } = await exchange(edge.port, 'GET /mock HTTP/1.0\r\n\r\n');
    expect(rs.map((r) => r.status)).toEqual([505]);
    expect(await c.closedWithin()).toBe(true);
  });

  it('the management listener answers /healthz and /readyz, closing as HTTP/1.0 asks', async () => {
    for (const path of ['/healthz', '/readyz']) {
      const { c, rs } = await exchange(edge.managementPort, `GET ${path} HTTP/1.0\r\n\r\n`);
      expect(rs.map((r) => [r.statusLine.split(' ')[0], r.status]), c.received()).toEqual([['HTTP/1.1', 200]]);
      expect(await c.closedWithin()).toBe(true);
    }
  });

  it('the management listener keeps an HTTP/1.0 keep-alive connection open', async () => {
    const { c, rs } = await exchange(edge.managementPort, 'GET /healthz HTTP/1.0\r\nConnection: keep-alive\r\n\r\n');
    const [first] = rs;
    assert.isDefined(first);
    expect(first.status).toBe(200);
    expect(header(first, 'connection')?.toLowerCase()).toBe('keep-alive');
    await c.write('GET /healthz HTTP/1.0\r\nConnection: keep-alive\r\n\r\n');
    expect((await c.responses(2)).map((r) => r.status)).toEqual([200, 200]);
    c.destroy();
  });

  it('HEAD /healthz answers without a body, and other methods 405', async () => {
    const base = `http://127.0.0.1:${edge.managementPort}`;
    const head = await fetch(`${base}/healthz`, { method: 'HEAD' });
    expect([head.status, await head.text()]).toEqual([200, '']);
    expect((await fetch(`${base}/healthz`, { method: 'POST' })).status).toBe(405);
  });
});
