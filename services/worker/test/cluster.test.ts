import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdtempSync, readFileSync, writeFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { functionQueueKey } from '@turnpike/codec';
import { SHARED_REDIS_URL, deletePrefix, spawnTurnpike, testPrefix, type TurnpikeProcess } from '@turnpike/testing';
import { EXAMPLES, FIXTURES, eventually, json, request, turnpike } from './helpers.js';

// Two edge processes and two worker processes sharing the queues, as separate machines would.
const prefix = testPrefix('cluster');
const dir = mkdtempSync(join(tmpdir(), 'tp-cluster-'));
const recordFile = join(dir, 'record.log');
const overlapFile = join(dir, 'overlap.log');
const configFile = join(dir, 'turnpike.yaml');
writeFileSync(
  configFile,
  `
functions:
  echo: { handler: ${EXAMPLES}echo.handler }
  record: { handler: ${FIXTURES}record.handler, environment: { RECORD_FILE: ${recordFile} }, timeoutMs: 10000 }
  overlap: { handler: ${FIXTURES}overlap.handler, environment: { RECORD_FILE: ${overlapFile} }, concurrency: 1 }
apis:
  - name: cluster
    routes:
      GET /echo: { integration: { type: function, function: echo } }
      POST /record: { integration: { type: function, function: record, timeoutMs: 2500, invocationTypeFrom: X-Amz-Invocation-Type } }
      GET /overlap: { integration: { type: function, function: overlap } }
`,
);

const workerArgs = ['worker', '--config', configFile, '--redis', SHARED_REDIS_URL, '--key-prefix', prefix, '--concurrency', '4', '--lock-ms', '1000'];
const edgeArgs = ['edge', '--config', configFile, '--port', '0', '--management-port=-1', '--redis', SHARED_REDIS_URL, '--key-prefix', prefix];
const workers: TurnpikeProcess[] = [];
let edges: TurnpikeProcess[] = [];

beforeAll(async () => {
  const started = await Promise.all([
    spawnTurnpike(workerArgs, { readyEvent: 'ready', timeoutMs: 30_000 }),
    spawnTurnpike(workerArgs, { readyEvent: 'ready', timeoutMs: 30_000 }),
    spawnTurnpike(edgeArgs),
    spawnTurnpike(edgeArgs),
  ]);
  workers.push(started[0], started[1]);
  edges = [started[2], started[3]];
});

afterAll(async () => {
  await Promise.all([...edges, ...workers].map((p) => p.stop()));
  await deletePrefix(SHARED_REDIS_URL, prefix);
});

const port = (i: number) => {
  const edge = edges[i];
  if (edge === undefined) throw new Error(`edge ${i} has not started`);
  return edge.info.port as number;
};
/** The pid of the worker running the record invocation marked `marker` (the record fixture notes it). */
const workerOf = (marker: string) => {
  const line = existsSync(recordFile) ? readFileSync(recordFile, 'utf8').split('\n').find((l) => l.startsWith(`worker:${marker}:`)) : undefined;
  return line ? Number(line.split(':')[2]) : undefined;
};

describe('two edges, two workers', () => {
  it('brings every result back to the edge that asked', async () => {
    const responses = await Promise.all(Array.from({ length: 40 }, (_, i) => request(port(i % 2), { path: '/echo' })));
    for (const r of responses) {
      expect(r.status).toBe(200);
      expect(json(r).event.requestContext.requestId).toBe(r.headers['x-amzn-requestid']);
    }
  });

  it('holds a function to its cluster-wide concurrency limit, sync invocations included', async () => {
    const responses = await Promise.all(Array.from({ length: 6 }, (_, i) => request(port(i % 2), { path: '/overlap' })));
    expect(responses.map((r) => r.status)).toEqual([200, 200, 200, 200, 200, 200]);
    let running = 0;
    let max = 0;
    for (const l of readFileSync(overlapFile, 'utf8').split('\n')) {
      if (l === '+') max = Math.max(max, ++running);
      if (l === '-') running--;
    }
    expect(max).toBe(1);
    // Which lane each took: the limited function's invocations were BullMQ jobs (BullMQ numbers them), the
    // unlimited one's went on its sync list and never touched its BullMQ queue.
    const redis = new Redis(SHARED_REDIS_URL);
    try {
      expect(await redis.get(functionQueueKey(prefix, 'overlap', 'id'))).toBe('6');
      expect(await redis.exists(functionQueueKey(prefix, 'echo', 'id'))).toBe(0);
    } finally {
      redis.disconnect();
    }
  });

  it('lets a running invocation finish when its worker is asked to stop', async () => {
    const pending = request(port(0), { method: 'POST', path: '/record', body: JSON.stringify({ marker: 'drain', sleepMs: 800 }) });
    const pid = await eventually(() => workerOf('drain'), 'the job to start');
    const w = workers.find((x) => x.proc.pid === pid)!;
    expect(await w.stop('SIGTERM')).toBe(0);
    workers.splice(workers.indexOf(w), 1);
    const r = await pending;
    expect(r.status).toBe(200);
    expect(r.body.toString()).toBe('drain');
    workers.push(await spawnTurnpike(workerArgs, { readyEvent: 'ready', timeoutMs: 30_000 }));
  });

  it('loses no async invocation and leaves no sync request hanging when a worker dies mid-job', async () => {
    const runs = (marker: string) => readFileSync(recordFile, 'utf8').split('\n').filter((l) => l === marker).length;
    const a = await request(port(0), { method: 'POST', path: '/record', headers: { 'x-amz-invocation-type': 'Event' }, body: JSON.stringify({ marker: 'async-k', sleepMs: 1500 }) });
    expect(a.status).toBe(202);
    const started = Date.now();
    // When the answer arrives, not when the test gets to look at it (starting the replacement worker below
    // takes seconds on a busy machine).
    const sync = request(port(1), { method: 'POST', path: '/record', body: JSON.stringify({ marker: 'sync-k', sleepMs: 1500 }) }).then((r) => ({ ...r, at: Date.now() }));
    const pids = new Set([await eventually(() => workerOf('async-k'), 'the async job to start'), await eventually(() => workerOf('sync-k'), 'the sync job to start')]);
    for (const w of workers.filter((w) => pids.has(w.proc.pid!))) await w.stop('SIGKILL');
    // A replacement worker: whichever workers are left, someone must pick up the stalled job.
    workers.push(await spawnTurnpike(workerArgs, { readyEvent: 'ready', timeoutMs: 30_000 }));

    const s = await sync;
    expect(s.status).toBe(504);
    expect(s.at - started).toBeLessThan(5000);
    // The stalled async job runs again on a live worker, to completion, and is not dead-lettered.
    await eventually(() => (runs('async-k') >= 2 ? true : undefined), 'the stalled async job to run again');
    await eventually(async () => {
      const r = await turnpike(['dlq', 'list', '--config', configFile, '--redis', SHARED_REDIS_URL, '--key-prefix', prefix, '--json']);
      return r.code === 0 && JSON.parse(r.stdout).deadLetters.length === 0 && runs('done:async-k') === 1 ? true : undefined;
    }, 'the async job to finish');
  });
});
