import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { measurePaired, spreadOf, type Target } from '../src/harness.js';

describe('spreadOf', () => {
  it('gives the median and quartiles by nearest rank, whatever the order', () => {
    expect(spreadOf([5, 1, 4, 2, 3])).toEqual({ median: 3, q1: 2, q3: 4 });
    expect(spreadOf([0.9])).toEqual({ median: 0.9, q1: 0.9, q3: 0.9 });
    expect(spreadOf([])).toBeNull();
  });
});

describe('measurePaired', () => {
  const servers: Server[] = [];
  const urls: string[] = [];
  beforeAll(async () => {
    // A fast server, and one spending ~2 ms of CPU on each request.
    for (const busyMs of [0, 2]) {
      const s = createServer((_req, res) => {
        const until = performance.now() + busyMs;
        while (performance.now() < until);
        res.end('ok');
      });
      await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
      servers.push(s);
      urls.push(`http://127.0.0.1:${(s.address() as AddressInfo).port}/`);
    }
  });
  afterAll(() => Promise.all(servers.map((s) => new Promise((r) => s.close(r)))));

  it('measures each ratio pair by pair, the order flipping, and gives its median and quartiles', async () => {
    const targets: Target[] = [
      { name: 'fast', url: urls[0]!, connections: 4, pid: process.pid },
      { name: 'slow', url: urls[1]!, connections: 4, pid: process.pid },
    ];
    const [p, ...rest] = await measurePaired(targets, [{ label: 'slow / fast', numerator: 'slow', denominator: 'fast', target: 0.9 }, { label: 'absent', numerator: 'slow', denominator: 'none' }], 'autocannon', 2, 1);
    expect(rest).toEqual([]); // a ratio whose target is not there is skipped
    expect(p).toMatchObject({ label: 'slow / fast', target: 0.9, generator: 'autocannon', pairs: 2, sliceSec: 1 });
    // At most ~500 requests/s against thousands.
    expect(p!.value!.median).toBeLessThan(0.5);
    expect(p!.value!.q1).toBeLessThanOrEqual(p!.value!.median);
    expect(p!.value!.median).toBeLessThanOrEqual(p!.value!.q3);
    // This process serves both: its CPU per request is the busy server's several times over.
    expect(p!.cpu!.median).toBeGreaterThan(2);
  });

  it('measures nothing unless pairs are asked for', async () => {
    expect(await measurePaired([{ name: 'a', url: urls[0]! }], [{ label: 'a / a', numerator: 'a', denominator: 'a' }], 'autocannon', 0)).toEqual([]);
  });
});
