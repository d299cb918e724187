import { afterAll, assert, beforeAll, describe, expect, it } from 'vitest';
import { mkdtempSync, readFileSync, writeFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import { Redis } from 'ioredis';
import { encodeSyncJob, functionQueueKey } from '@turnpike/codec';
import { loadConfig } from '@turnpike/config';
import { Edge } from '@turnpike/edge';
import { SHARED_REDIS_URL, deletePrefix, spawnTurnpike, testPrefix, type TurnpikeProcess } from '@turnpike/testing';
import { EXAMPLES, FIXTURES, eventually, json, request, turnpike } from './helpers.js';

// A real worker process (the `turnpike worker` command) running the fixture functions in host processes,
// and a real edge on loopback; Redis is the shared one, under this file's own key prefix.
const prefix = testPrefix('functions');
const dir = mkdtempSync(join(tmpdir(), 'tp-functions-'));
const recordFile = join(dir, 'record.log');
const configFile = join(dir, 'turnpike.yaml');
writeFileSync(
  configFile,
  `
gateway:
  accountId: "123456789012"
  region: eu-west-1
functions:
  echo: { handler: ${EXAMPLES}echo.handler, environment: { GREETING: bonjour }, memoryMB: 256 }
  callback: { handler: ${EXAMPLES}callback.handler }
  spins: { handler: ${FIXTURES}spins.handler, timeoutMs: 1000 }
  record: { handler: ${FIXTURES}record.handler, environment: { RECORD_FILE: ${recordFile} }, retryBackoffMs: 100 }
apis:
  - name: shop
    id: a1b2c3
    stages:
      prod: { variables: { color: blue } }
    binaryMediaTypes: [application/octet-stream, image/*]
    routes:
      GET /items/{id}: { integration: { type: function, function: echo } }
      POST /v2/items/{id}: { integration: { type: function, function: echo, payloadFormatVersion: "2.0" } }
      POST /binary: { integration: { type: function, function: binary } }
      POST /v2/binary: { integration: { type: function, function: binary, payloadFormatVersion: "2.0" } }
      GET /callback: { integration: { type: function, function: callback } }
      GET /throws: { integration: { type: function, function: throws } }
      GET /malformed: { integration: { type: function, function: malformed } }
      GET /exits: { integration: { type: function, function: exits } }
      GET /crashes: { integration: { type: function, function: crashes } }
      GET /spins: { integration: { type: function, function: spins } }
      GET /broken: { integration: { type: function, function: broken } }
      GET /slow: { integration: { type: function, function: slow, timeoutMs: 300 } }
      GET /slow-patient: { integration: { type: function, function: slow, timeoutMs: 20000 } }
      GET /v2/simple: { integration: { type: function, function: simple, payloadFormatVersion: "2.0" } }
      GET /v2/cookies: { integration: { type: function, function: cookies, payloadFormatVersion: "2.0" } }
      GET /multi: { integration: { type: function, function: multi } }
      POST /record: { integration: { type: function, function: record } }
      POST /record-async: { integration: { type: function, function: record, invocationType: Event } }
      POST /record-mapped: { integration: { type: function, function: record, invocationTypeFrom: X-Amz-Invocation-Type } }
`,
);

let worker: TurnpikeProcess;
let edge: Edge;

beforeAll(async () => {
  worker = await spawnTurnpike(['worker', '--config', configFile, '--functions', FIXTURES, '--redis', SHARED_REDIS_URL, '--key-prefix', prefix, '--concurrency', '4'], { readyEvent: 'ready', timeoutMs: 30_000 });
  edge = await new Edge({ config: loadConfig(configFile), port: 0, host: '127.0.0.1', managementPort: -1, redisUrl: SHARED_REDIS_URL, keyPrefix: prefix, logger: pino({ level: 'silent' }) }).start();
});

afterAll(async () => {
  await edge?.stop(1000);
  expect(await worker?.stop()).toBe(0);
  await deletePrefix(SHARED_REDIS_URL, prefix);
});

const get = (path: string, headers: Record<string, string | string[]> = {}) => request(edge.port, { path, headers: { host: 'shop.example.com', 'user-agent': 'vitest/4', ...headers } });

describe('payload format 1.0 (REST)', () => {
  it('builds the proxy event field for field', async () => {
    const r = await get('/prod/items/42?a=1&a=2&b=x%20y', { 'x-multi': ['one', 'two'], 'x-amz-test': 'yes' });
    expect(r.status).toBe(200);
    const { event, context, env } = json(r);
    const requestId = r.headers['x-amzn-requestid'];
    // The keys of AWS's documented REST example event (and @types/aws-lambda's APIGatewayProxyEvent).
    expect(Object.keys(event).sort()).toEqual(
      ['body', 'headers', 'httpMethod', 'isBase64Encoded', 'multiValueHeaders', 'multiValueQueryStringParameters', 'path', 'pathParameters', 'queryStringParameters', 'requestContext', 'resource', 'stageVariables'].sort(),
    );
    expect(event).toMatchObject({
      resource: '/items/{id}',
      path: '/items/42',
      httpMethod: 'GET',
      queryStringParameters: { a: '2', b: 'x y' },
      multiValueQueryStringParameters: { a: ['1', '2'], b: ['x y'] },
      pathParameters: { id: '42' },
      stageVariables: { color: 'blue' },
      body: null,
      isBase64Encoded: false,
    });
    // REST events carry header names in Title-Case (docs/aws-behaviour.md).
    expect(event.headers['X-Multi']).toBe('two');
    expect(event.multiValueHeaders['X-Multi']).toEqual(['one', 'two']);
    expect(event.headers['User-Agent']).toBe('vitest/4');
    const rc = event.requestContext;
    expect(Object.keys(rc).sort()).toEqual(
      ['accountId', 'apiId', 'domainName', 'domainPrefix', 'extendedRequestId', 'httpMethod', 'identity', 'path', 'protocol', 'requestId', 'requestTime', 'requestTimeEpoch', 'resourceId', 'resourcePath', 'stage'].sort(),
    );
    expect(rc).toMatchObject({
      accountId: '123456789012',
      apiId: 'a1b2c3',
      domainName: 'shop.example.com',
      domainPrefix: 'shop',
      httpMethod: 'GET',
      path: '/prod/items/42',
      protocol: 'HTTP/1.1',
      requestId,
      resourcePath: '/items/{id}',
      stage: 'prod',
    });
    expect(rc.identity).toMatchObject({ sourceIp: '127.0.0.1', userAgent: 'vitest/4', accessKey: null, cognitoIdentityId: null, user: null, userArn: null });
    expect(rc.requestTime).toMatch(/^\d{2}\/[A-Z][a-z]{2}\/\d{4}:\d{2}:\d{2}:\d{2} \+0000$/);
    expect(Math.abs(rc.requestTimeEpoch - Date.now())).toBeLessThan(60_000);
    // Lambda's context, and the function's own environment (not the worker's).
    expect(context).toMatchObject({
      awsRequestId: requestId,
      functionName: 'echo',
      functionVersion: '$LATEST',
      invokedFunctionArn: 'arn:aws:lambda:eu-west-1:123456789012:function:echo',
      memoryLimitInMB: '256',
      callbackWaitsForEmptyEventLoop: true,
    });
    expect(context.remainingMs).toBeGreaterThan(0);
    expect(context.remainingMs).toBeLessThanOrEqual(3000);
    expect(env).toEqual({ GREETING: 'bonjour', AWS_LAMBDA_FUNCTION_NAME: 'echo', REDIS_URL: null });
  });

  it('runs callback-style CommonJS handlers', async () => {
    const r = await get('/prod/callback');
    expect(r.status).toBe(201);
    expect(r.headers['x-style']).toBe('callback');
    expect(r.body.toString()).toBe('created');
  });

  it('maps headers and multiValueHeaders as API Gateway does', async () => {
    const r = await get('/prod/multi');
    expect(r.status).toBe(202);
    expect(r.headers['x-single']).toBe('s');
    expect(r.headers['x-both']).toBe('m1, m2');
    expect(r.headers['content-type']).toBe('application/json');
  });

  it('passes binary bodies base64-encoded and decodes a base64 response', async () => {
    const bytes = Buffer.from([0, 1, 2, 250, 255, 13, 10]);
    const r = await request(edge.port, { method: 'POST', path: '/prod/binary', headers: { 'content-type': 'application/octet-stream', accept: 'image/png' }, body: bytes });
    expect(r.status).toBe(200);
    expect(r.headers['content-type']).toBe('image/png');
    expect(r.body).toEqual(Buffer.from(bytes).reverse());
    // A text type is passed as text (not in binaryMediaTypes).
    const t = await request(edge.port, { method: 'POST', path: '/prod/binary', headers: { 'content-type': 'text/plain', accept: 'image/png' }, body: 'abc' });
    expect(t.body.toString()).toBe('cba');
  });
});

describe('payload format 2.0 (HTTP API)', () => {
  it('builds the proxy event field for field', async () => {
    const r = await request(edge.port, {
      method: 'POST',
      path: '/prod/v2/items/7?x=1&x=2&y=z',
      headers: { host: 'api.example.com', 'user-agent': 'vitest/4', cookie: ['c1=a; c2=b', 'c3=c'], 'x-multi': ['one', 'two'], 'content-type': 'application/json' },
      body: '{"hello":"world"}',
    });
    expect(r.status).toBe(200);
    const { event } = json(r);
    expect(Object.keys(event).sort()).toEqual(
      ['body', 'cookies', 'headers', 'isBase64Encoded', 'pathParameters', 'queryStringParameters', 'rawPath', 'rawQueryString', 'requestContext', 'routeKey', 'stageVariables', 'version'].sort(),
    );
    expect(event).toMatchObject({
      version: '2.0',
      routeKey: 'POST /v2/items/{id}',
      rawPath: '/prod/v2/items/7',
      rawQueryString: 'x=1&x=2&y=z',
      cookies: ['c1=a', 'c2=b', 'c3=c'],
      queryStringParameters: { x: '1,2', y: 'z' },
      pathParameters: { id: '7' },
      stageVariables: { color: 'blue' },
      body: '{"hello":"world"}',
      isBase64Encoded: false,
    });
    expect(event.headers['x-multi']).toBe('one,two');
    expect(event.headers.cookie).toBeUndefined();
    const rc = event.requestContext;
    expect(Object.keys(rc).sort()).toEqual(['accountId', 'apiId', 'domainName', 'domainPrefix', 'http', 'requestId', 'routeKey', 'stage', 'time', 'timeEpoch'].sort());
    expect(rc).toMatchObject({
      accountId: '123456789012',
      apiId: 'a1b2c3',
      domainName: 'api.example.com',
      domainPrefix: 'api',
      http: { method: 'POST', path: '/prod/v2/items/7', protocol: 'HTTP/1.1', sourceIp: '127.0.0.1', userAgent: 'vitest/4' },
      requestId: r.headers['x-amzn-requestid'],
      routeKey: 'POST /v2/items/{id}',
      stage: 'prod',
    });
    expect(rc.time).toMatch(/^\d{2}\/[A-Z][a-z]{2}\/\d{4}:\d{2}:\d{2}:\d{2} \+0000$/);
  });

  it('turns a bare result into a 200 JSON response', async () => {
    const obj = await get('/prod/v2/simple', { cookie: 'k=v' });
    expect(obj.status).toBe(200);
    expect(obj.headers['content-type']).toBe('application/json');
    expect(json(obj)).toEqual({ hello: 'world', cookies: ['k=v'] });
    const str = await get('/prod/v2/simple?string');
    expect(str.status).toBe(200);
    // A bare string is the body itself, as API Gateway answers it.
    expect(str.body.toString()).toBe('just a string');
  });

  it('sends each cookie as its own set-cookie header', async () => {
    const r = await get('/prod/v2/cookies');
    expect(r.status).toBe(200);
    expect(r.headers['set-cookie']).toEqual(['a=1; Path=/', 'b=2']);
    expect(r.headers['x-one']).toBe('x');
  });

  it('base64-encodes binary bodies', async () => {
    const bytes = Buffer.from([255, 254, 0, 7]);
    const r = await request(edge.port, { method: 'POST', path: '/prod/v2/binary', headers: { 'content-type': 'image/jpeg', accept: 'image/jpeg' }, body: bytes });
    expect(r.status).toBe(200);
    expect(r.body).toEqual(Buffer.from(bytes).reverse());
  });
});

describe('failures', () => {
  it.each([
    ['throws', '/prod/throws'],
    ['returns a malformed response', '/prod/malformed'],
    ['calls process.exit', '/prod/exits'],
    ['crashes from a timer', '/prod/crashes'],
    ['loops forever (killed at its 1 s timeout)', '/prod/spins'],
    ['cannot be loaded (syntax error)', '/prod/broken'],
  ])('a function that %s answers 502 and other functions are unaffected', async (_, path) => {
    const [failed, ...others] = await Promise.all([get(path), get('/prod/items/1'), get('/prod/callback'), get('/prod/items/2')]);
    expect(failed.status).toBe(502);
    expect(json(failed)).toEqual({ message: 'Internal server error' });
    expect(others.map((o) => o.status)).toEqual([200, 201, 200]);
    // The failed function recovers: a fresh host process serves the next call.
    expect((await get(path)).status).toBe(502);
  });

  it('skips a sync invocation whose caller stopped waiting before a worker took it', async () => {
    // As an edge queues it, but past its deadline: then a live one behind it on the same (FIFO) list.
    const redis = new Redis(SHARED_REDIS_URL);
    try {
      const stale = { s: 1, d: Date.now() - 1, r: `${prefix}:reply:{gone}`, id: 'stale', t: null, e: JSON.stringify({ body: JSON.stringify({ marker: 'stale' }) }) };
      await redis.lpush(functionQueueKey(prefix, 'record', 'sync'), encodeSyncJob(stale));
    } finally {
      redis.disconnect();
    }
    const r = await request(edge.port, { method: 'POST', path: '/prod/record', body: JSON.stringify({ marker: 'live' }) });
    expect(r.body.toString()).toBe('live');
    const lines = readFileSync(recordFile, 'utf8').split('\n');
    expect(lines).toContain('live');
    expect(lines).not.toContain('stale');
  });

  it('answers 504 when the integration timeout passes first', async () => {
    const r = await get('/prod/slow?ms=2000');
    expect(r.status).toBe(504);
    expect(json(r)).toEqual({ message: 'Endpoint request timed out' });
    // The function still answers afterwards (its host may have been replaced: on a busy machine that takes
    // longer than the 300 ms route allows, so the check uses a route of the same function with a wide bound).
    expect((await get('/prod/slow-patient?ms=10')).status).toBe(200);
  });
});

describe('asynchronous invocation', () => {
  const lines = (marker: string) => (existsSync(recordFile) ? readFileSync(recordFile, 'utf8').split('\n').filter((l) => l === marker).length : 0);
  const dlq = async (action: string, ...more: string[]) => {
    const r = await turnpike(['dlq', action, '--config', configFile, '--redis', SHARED_REDIS_URL, '--key-prefix', prefix, '--json', ...more]);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    return JSON.parse(r.stdout) as Record<string, Array<Record<string, any>>>;
  };

  it('answers 202 at once and retries a failed invocation', async () => {
    const r = await request(edge.port, { method: 'POST', path: '/prod/record-mapped', headers: { 'x-amz-invocation-type': 'Event' }, body: JSON.stringify({ marker: 'retried', failTimes: 1 }) });
    expect(r.status).toBe(202);
    expect(r.body.length).toBe(0);
    await eventually(() => (lines('retried') >= 2 ? true : undefined), 'the retry');
    const c = await request(edge.port, { method: 'POST', path: '/prod/record-async', body: JSON.stringify({ marker: 'configured' }) });
    expect(c.status).toBe(202);
    await eventually(() => (lines('configured') === 1 ? true : undefined), 'the configured async invocation');
  });

  it('keeps an invocation that failed every retry in the dead-letter queue, and replays it', async () => {
    const r = await request(edge.port, { method: 'POST', path: '/prod/record-mapped', headers: { 'x-amz-invocation-type': 'Event' }, body: JSON.stringify({ marker: 'dead', failTimes: 3 }) });
    expect(r.status).toBe(202);
    const requestId = r.headers['x-amzn-requestid'];
    const letters = await eventually(async () => {
      const l = (await dlq('list')).deadLetters!;
      return l.length ? l : undefined;
    }, 'the dead letter');
    expect(lines('dead')).toBe(3);
    expect(letters).toHaveLength(1);
    const [letter] = letters;
    assert.isDefined(letter);
    expect(letter).toMatchObject({ function: 'record', requestId, attempts: 3 });
    expect(letter.failedReason).toContain('failing attempt 3 of dead');

    const replayed = (await dlq('replay', '--function', 'record', '--id', letter.jobId)).replayed!;
    expect(replayed.map((l) => l.jobId)).toEqual([letter.jobId]);
    // The 4th attempt succeeds (failTimes: 3), and the dead-letter queue is empty again.
    await eventually(() => (lines('dead') === 4 ? true : undefined), 'the replayed invocation');
    await eventually(async () => ((await dlq('list')).deadLetters!.length === 0 ? true : undefined), 'an empty dead-letter queue');
  });
});
