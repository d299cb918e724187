import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { randomUUID } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import { Queue, type Job } from 'bullmq';
import { Redis } from 'ioredis';
import { FUNCTION_QUEUE_OPTIONS, REDACTED, encode, functionQueueName, functionQueuePrefix, redactEvent, type InvocationJob } from '@turnpike/codec';
import { loadConfig } from '@turnpike/config';
import { Edge } from '@turnpike/edge';
import { SHARED_REDIS_URL, deletePrefix, spawnTurnpike, testPrefix, type TurnpikeProcess } from '@turnpike/testing';
import { listDeadLetters } from '@turnpike/worker';
import { eventually } from '../../services/worker/test/helpers.js';

/**
 * Threat: whoever reads Redis (a backup, a replica, a MONITOR session, an operator's SCAN) finds callers'
 * credentials in stored invocations: an async invocation that failed every retry used to keep the
 * caller's bearer token, plaintext x-api-key, cookies and query tokens in its dead letter, forever.
 * Expected: credentials stay in Redis only while an invocation may still run (a retry must see the event
 * it was first given); a dead letter keeps its event with every credential replaced by "[redacted]", and
 * only for its retention (14 days by default); completed jobs and sync invocations leave nothing behind.
 */
const prefix = testPrefix('secrets');
const dir = mkdtempSync(join(tmpdir(), 'tp-secrets-'));
const failsFile = join(dir, 'fails.log');
const okFile = join(dir, 'ok.log');
const configFile = join(dir, 'turnpike.yaml');
const FIXTURES = new URL('./fixtures/', import.meta.url).pathname;
const run = randomUUID().replace(/-/g, '');
const SECRETS = {
  bearer: `bearer${run}`,
  apiKey: `apikey${run}`,
  session: `session${run}`,
  cookie: `cookie${run}`,
  queryToken: `qtoken${run}`,
  signature: `sig${run}`,
};
writeFileSync(
  configFile,
  `
functions:
  fails: { handler: ${FIXTURES}failsRecording.handler, maxRetries: 1, retryBackoffMs: 50, environment: { RECORD_FILE: ${failsFile} } }
  expires: { handler: ${FIXTURES}failsRecording.handler, maxRetries: 0, deadLetterRetentionMs: 1000, environment: { RECORD_FILE: ${failsFile} } }
  succeeds: { handler: ${FIXTURES}succeeds.handler, environment: { RECORD_FILE: ${okFile} } }
  stalls: { handler: ${FIXTURES}failsRecording.handler, environment: { RECORD_FILE: ${failsFile} } }
  allowAll: { handler: ${FIXTURES}allowAll.handler }
apis:
  - name: secrets
    authorizers:
      session: { type: token, function: allowAll, identitySource: method.request.header.X-Session, resultTtlSeconds: 0 }
    routes:
      POST /v1/fail: { authorizer: session, integration: { type: function, function: fails, invocationType: Event } }
      POST /v2/fail: { authorizer: session, integration: { type: function, function: fails, invocationType: Event, payloadFormatVersion: "2.0" } }
      POST /expire: { integration: { type: function, function: expires, invocationType: Event } }
      POST /ok: { authorizer: session, integration: { type: function, function: succeeds, invocationType: Event } }
      POST /ok-sync: { authorizer: session, integration: { type: function, function: succeeds } }
      POST /stall: { authorizer: session, integration: { type: function, function: stalls, invocationType: Event } }
`,
);

let worker: TurnpikeProcess;
let edge: Edge;
let redis: Redis;

beforeAll(async () => {
  redis = new Redis(SHARED_REDIS_URL);
  worker = await spawnTurnpike(['worker', '--config', configFile, '--redis', SHARED_REDIS_URL, '--key-prefix', prefix, '--concurrency', '2'], { readyEvent: 'ready', timeoutMs: 30_000 });
  edge = await new Edge({ config: loadConfig(configFile), port: 0, host: '127.0.0.1', managementPort: -1, redisUrl: SHARED_REDIS_URL, keyPrefix: prefix, logger: pino({ level: 'silent' }) }).start();
});

afterAll(async () => {
  await edge?.stop(1000);
  await worker?.stop();
  await deletePrefix(SHARED_REDIS_URL, prefix);
  redis?.disconnect();
  rmSync(dir, { recursive: true, force: true });
});

/** A request carrying every kind of credential a caller may send. */
function call(path: string): Promise<Response> {
  return fetch(`http://127.0.0.1:${edge.port}${path}?color=blue&access_token=${SECRETS.queryToken}&X-Amz-Signature=${SECRETS.signature}`, {
    method: 'POST',
    headers: { authorization: `Bearer ${SECRETS.bearer}`, 'x-api-key': SECRETS.apiKey, 'x-session': SECRETS.session, cookie: `sid=${SECRETS.cookie}; theme=dark` },
    body: '{"order":42}',
  });
}

/** Every byte stored under the test's prefix: key names and values of every type, as Redis holds them. */
async function everythingStored(): Promise<Buffer> {
  const parts: Buffer[] = [];
  let cursor = '0';
  do {
    const [next, keys] = await redis.scanBuffer(cursor, 'MATCH', `${prefix}:*`, 'COUNT', 1000);
    cursor = String(next);
    for (const key of keys) {
      parts.push(key);
      const type = await redis.type(key);
      if (type === 'string') parts.push((await redis.getBuffer(key)) ?? Buffer.alloc(0));
      else if (type === 'hash') for (const [field, value] of Object.entries(await redis.hgetallBuffer(key))) parts.push(Buffer.from(field), value);
      else if (type === 'list') parts.push(...(await redis.lrangeBuffer(key, 0, -1)));
      else if (type === 'set') parts.push(...(await redis.smembersBuffer(key)));
      else if (type === 'zset') parts.push(...(await redis.zrangeBuffer(key, 0, -1)));
      else if (type === 'stream') for (const [id, fields] of (await redis.xrangeBuffer(key, '-', '+')) as unknown as [Buffer, Buffer[]][]) parts.push(id, ...fields);
      else if (type !== 'none') throw new Error(`unexpected ${type} at ${key.toString()}`);
    }
  } while (cursor !== '0');
  return Buffer.concat(parts);
}

/** Which secrets appear in `stored`: as UTF-8 text (JSON job data) and as msgpack strings (binary envelopes). */
function secretsIn(stored: Buffer): string[] {
  return Object.entries(SECRETS)
    .filter(([, v]) => stored.includes(Buffer.from(v)) || stored.includes(encode(v)))
    .map(([k]) => k);
}

async function withQueue<T>(fn: string, use: (q: Queue) => Promise<T>): Promise<T> {
  const q = new Queue(functionQueueName(fn), { ...FUNCTION_QUEUE_OPTIONS, connection: redis, prefix: functionQueuePrefix(prefix) });
  try {
    return await use(q);
  } finally {
    await q.close();
  }
}

describe('no caller credentials at rest', () => {
  it('keeps the event whole for the retry, then dead-letters it without credentials', async () => {
    expect((await call('/v1/fail')).status).toBe(202);
    expect((await call('/v2/fail')).status).toBe(202);
    const letters = await eventually(async () => {
      const l = await listDeadLetters(redis, prefix, ['fails']);
      return l.length === 2 ? l : undefined;
    }, 'two dead letters');
    expect(letters.map((l) => l.attempts)).toEqual([2, 2]);

    // Both attempts of both invocations saw the caller's credentials: they were needed, and kept, until the last one.
    const attempts = readFileSync(failsFile, 'utf8').trim().split('\n').map((l) => JSON.parse(l) as { authorization: string; session: string });
    expect(attempts).toHaveLength(4);
    for (const a of attempts) expect(a).toEqual({ authorization: `Bearer ${SECRETS.bearer}`, session: SECRETS.session });

    // The dead letters keep what an operator needs to replay them, and no credential.
    const jobs = (await withQueue('fails', (q) => q.getFailed(0, -1))) as Job<InvocationJob>[];
    for (const job of jobs) {
      const e = job.data.e as Record<string, any>;
      expect(job.data.x).toBe(1);
      expect(e.queryStringParameters.color).toBe('blue');
      // Payload 1.0 names headers in Title-Case, 2.0 in lowercase (docs/aws-behaviour.md).
      const headers = Object.fromEntries(Object.entries(e.headers as Record<string, string>).map(([k, v]) => [k.toLowerCase(), v]));
      expect(headers['x-session']).toBe(REDACTED);
      expect(headers.authorization).toBe(REDACTED);
      expect(headers['x-api-key']).toBe(REDACTED);
      expect(e.requestContext.authorizer.tenant ?? e.requestContext.authorizer.lambda?.tenant).toBe('acme');
      expect(e.body).toBe('{"order":42}');
    }
    expect(secretsIn(await everythingStored())).toEqual([]);
  });

  it('leaves nothing behind for completed async and sync invocations', async () => {
    expect((await call('/ok')).status).toBe(202);
    const sync = await call('/ok-sync');
    expect(sync.status).toBe(200);
    expect(await sync.text()).toBe('done');
    await eventually(() => (existsSync(okFile) && readFileSync(okFile, 'utf8').split('\n').filter(Boolean).length === 2 ? true : undefined), 'both invocations to run');
    // The async job is removed once BullMQ has recorded its completion (removeOnComplete).
    await eventually(async () => {
      const counts = await withQueue('succeeds', (q) => q.getJobCounts('wait', 'active', 'delayed', 'completed', 'failed'));
      return Object.values(counts).every((n) => n === 0) ? true : undefined;
    }, 'the completed job to be removed');
    expect(secretsIn(await everythingStored())).toEqual([]);
  });

  it('removes dead letters once their retention has passed', async () => {
    expect((await call('/expire')).status).toBe(202);
    await eventually(() => (worker.output().split('\n').some((l) => l.includes('"function":"expires"') && l.includes('kept in the dead-letter queue')) ? true : undefined), 'the invocation to be dead-lettered');
    // deadLetterRetentionMs: 1000, and the worker sweeps every min(retention, 1 h).
    await eventually(async () => ((await listDeadLetters(redis, prefix, ['expires'])).length === 0 ? true : undefined), 'the dead letter to expire', 10_000);
    const counts = await withQueue('expires', (q) => q.getJobCounts('failed'));
    expect(counts.failed).toBe(0);
    // The other function's dead letters are within their retention (14 days by default) and stay.
    expect(await listDeadLetters(redis, prefix, ['fails'])).toHaveLength(2);
    expect(secretsIn(await everythingStored())).toEqual([]);
  });
});

describe('no caller credentials at rest, when BullMQ fails the job itself', () => {
  it('redacts an invocation that stalled too often', async () => {
    // BullMQ's stalled-job check marks a job that stalled more than maxStalledCount times with a deferred
    // failure (its `defa` field), and the next worker to take it fails it without running it: the
    // worker's processor never sees it. The queue is paused so that the mark lands before a worker looks.
    await withQueue('stalls', (q) => q.pause());
    expect((await call('/stall')).status).toBe(202);
    const [job] = await withQueue('stalls', (q) => q.getJobs(['paused', 'wait']));
    await withQueue('stalls', async (q) => {
      await redis.hset(q.toKey(job!.id!), 'defa', 'job stalled more than allowable limit');
      await q.resume();
    });
    const failed = await eventually(async () => {
      const [j] = (await withQueue('stalls', (q) => q.getFailed(0, -1))) as Job<InvocationJob>[];
      return j?.data.x === 1 ? j : undefined;
    }, 'the stalled job to be failed and redacted');
    expect(failed.failedReason).toBe('job stalled more than allowable limit');
    expect((failed.data.e as Record<string, any>).headers.Authorization).toBe(REDACTED);
    expect(secretsIn(await everythingStored())).toEqual([]);
  });
});

describe('redactEvent', () => {
  it('redacts payload 1.0 and 2.0 credentials wherever API Gateway puts them, and nothing else', () => {
    const v1 = {
      headers: { Authorization: 'Bearer a', 'X-Custom': 'keep', 'x-session': 's' },
      multiValueHeaders: { Authorization: ['Bearer a'], 'X-Custom': ['keep'] },
      queryStringParameters: { token: 't', page: '2' },
      multiValueQueryStringParameters: { token: ['t', 'u'], page: ['2'] },
      requestContext: { identity: { apiKey: 'k', sourceIp: '127.0.0.1' }, authorizer: { principalId: 'p' } },
      body: 'payload',
    };
    expect(redactEvent(v1, { headers: ['X-Session'], query: [] })).toEqual({
      headers: { Authorization: REDACTED, 'X-Custom': 'keep', 'x-session': REDACTED },
      multiValueHeaders: { Authorization: [REDACTED], 'X-Custom': ['keep'] },
      queryStringParameters: { token: REDACTED, page: '2' },
      multiValueQueryStringParameters: { token: [REDACTED, REDACTED], page: ['2'] },
      requestContext: { identity: { apiKey: REDACTED, sourceIp: '127.0.0.1' }, authorizer: { principalId: 'p' } },
      body: 'payload',
    });
    const v2 = { version: '2.0', rawQueryString: 'a=1&sig=s%3D&API_KEY=k&b', cookies: ['sid=x', 'theme=dark'], headers: { 'x-api-key': 'k' }, queryStringParameters: { a: '1', sig: 's=', API_KEY: 'k' } };
    expect(redactEvent(v2, { headers: [], query: ['sig'] })).toEqual({
      version: '2.0',
      rawQueryString: 'a=1&sig=%5Bredacted%5D&API_KEY=%5Bredacted%5D&b',
      cookies: [`sid=${REDACTED}`, `theme=${REDACTED}`],
      headers: { 'x-api-key': REDACTED },
      queryStringParameters: { a: '1', sig: REDACTED, API_KEY: REDACTED },
    });
    // The input is not modified (the worker may still hold it).
    expect(v1.headers.Authorization).toBe('Bearer a');
  });
});
