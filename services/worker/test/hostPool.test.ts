import { afterEach, describe, expect, it } from 'vitest';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import { HostPool, hostLauncher, type Outcome } from '@turnpike/worker/internals';
import { FIXTURES } from './helpers.js';

// Real host processes running fixtures/pool.mjs. Invocations handed to a busy host queue in it and go in
// one message (protocol.ts); these tests hold the pool to what that must not change: each invocation runs
// once, a slow one does not hold up the rest for long, and a host's death is charged to one invocation.
const pools: HostPool[] = [];
afterEach(() => {
  for (const p of pools.splice(0)) p.close();
});

function pool(maxHosts: number, timeoutMs = 3000): { pool: HostPool; started: () => Map<string, number[]> } {
  const record = join(mkdtempSync(join(tmpdir(), 'tp-pool-')), 'record.log');
  const spec = {
    name: 'pool',
    version: '$LATEST',
    queue: 'pool',
    modulePath: join(FIXTURES, 'pool.mjs'),
    exportName: 'handler',
    root: FIXTURES,
    timeoutMs,
    memoryMB: 128,
    environment: { RECORD_FILE: record },
    concurrency: undefined,
    maxRetries: 2,
    retryBackoffMs: 1000,
    deadLetterRetentionMs: 86_400_000,
  };
  const p = new HostPool(spec, { region: 'us-east-1', accountId: '000000000000', logger: pino({ level: 'silent' }), launcher: hostLauncher() }, maxHosts);
  pools.push(p);
  /** marker → the pids that started it */
  const started = () => {
    const m = new Map<string, number[]>();
    for (const line of readFileSync(record, 'utf8').split('\n').filter(Boolean)) {
      const [marker, pid] = line.split(' ');
      m.set(marker!, [...(m.get(marker!) ?? []), Number(pid)]);
    }
    return m;
  };
  return { pool: p, started };
}

const invoke = (p: HostPool, event: Record<string, unknown>) => p.run({ event: JSON.stringify(event), traceparent: null, requestId: String(event.marker) });
const body = (o: Outcome) => JSON.parse(o.payload) as { marker: string; pid: number; remaining: number };

describe('host pool', () => {
  it('runs what a busy host was handed in order, each once, each with its own context', async () => {
    const { pool: p, started } = pool(1);
    await p.warm();
    const markers = Array.from({ length: 50 }, (_, i) => `m${i}`);
    const outcomes = await Promise.all(markers.map((marker) => invoke(p, { marker })));
    expect(outcomes.map((o) => o.status)).toEqual(markers.map(() => 'ok'));
    expect(outcomes.map((o) => body(o).marker)).toEqual(markers);
    // getRemainingTimeInMillis counts from each invocation's own start, not from when it was handed over.
    for (const o of outcomes) expect(body(o).remaining).toBeGreaterThan(2900);
    const runs = started();
    expect([...runs.keys()]).toEqual(markers);
    expect([...runs.values()].every((pids) => pids.length === 1)).toBe(true);
  });

  it('runs what it was handed while its hosts were still starting, each once', async () => {
    const { pool: p, started } = pool(2);
    const markers = Array.from({ length: 20 }, (_, i) => `c${i}`);
    const outcomes = await Promise.all(markers.map((marker) => invoke(p, { marker })));
    expect(outcomes.map((o) => o.status)).toEqual(markers.map(() => 'ok'));
    expect(p.size).toBe(2);
    const runs = started();
    for (const m of markers) expect(runs.get(m)).toHaveLength(1);
  });

  it('takes back what waits behind a slow invocation and runs it on another host', async () => {
    const { pool: p, started } = pool(2);
    await Promise.all([p.warm(), p.warm()]);
    const order: string[] = [];
    const run = (event: Record<string, unknown>) => invoke(p, event).then((o) => (order.push(String(event.marker)), o));
    const slow = run({ marker: 'slow', sleepMs: 1500 });
    // Half of these are handed to the slow one's host (the two hold as many), then given back.
    const fast = await Promise.all(Array.from({ length: 20 }, (_, i) => run({ marker: `f${i}` })));
    expect(fast.map((o) => o.status)).toEqual(fast.map(() => 'ok'));
    expect(order).not.toContain('slow');
    const slowPid = body(await slow).pid;
    expect(fast.every((o) => body(o).pid !== slowPid)).toBe(true);
    const runs = started();
    for (let i = 0; i < 20; i++) expect(runs.get(`f${i}`)).toHaveLength(1);
  });

  it.each([
    ['exits', { exit: true }, 'Runtime.ExitError'],
    ['throws from a timer', { throwLater: true }, 'Error'],
  ])('when the running invocation %s, only it fails: the ones queued behind it run on a fresh host, once', async (_, failure, errorType) => {
    const { pool: p, started } = pool(1);
    await p.warm();
    const [failed, ...rest] = await Promise.all([invoke(p, { marker: 'bad', ...failure }), ...['a', 'b', 'c'].map((marker) => invoke(p, { marker }))]);
    expect(failed).toMatchObject({ status: 'crash', errorType });
    expect(rest.map((o) => o.status)).toEqual(['ok', 'ok', 'ok']);
    const runs = started();
    const badPid = runs.get('bad')![0];
    for (const m of ['a', 'b', 'c']) {
      expect(runs.get(m)).toHaveLength(1);
      expect(runs.get(m)![0]).not.toBe(badPid);
    }
  });

  it('runs what was queued behind an invocation killed at its timeout on a fresh host, once', async () => {
    const { pool: p, started } = pool(1, 300);
    await p.warm();
    const [spun, ...rest] = await Promise.all([invoke(p, { marker: 'spin', spin: true }), invoke(p, { marker: 'a' }), invoke(p, { marker: 'b' })]);
    expect(spun).toMatchObject({ status: 'function_timeout', errorType: 'Sandbox.Timedout' });
    expect(rest.map((o) => o.status)).toEqual(['ok', 'ok']);
    const runs = started();
    expect(runs.get('a')).toHaveLength(1);
    expect(runs.get('b')).toHaveLength(1);
    expect(runs.get('a')![0]).not.toBe(runs.get('spin')![0]);
  });
});
