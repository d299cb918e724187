import { mkdtempSync, readFileSync, rmSync, writeFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { deletePrefix, echoHandler, SHARED_REDIS_URL, spawnTurnpike, startUpstream, testPrefix, type TurnpikeProcess, type Upstream } from '@turnpike/testing';
import { json, rawRequest } from '../fixtures.js';

/**
 * Lambda authorizers end to end: a real worker runs AWS-style authorizer functions, two edge processes
 * share one Redis key prefix (so one policy cache), an upstream echoes what it was sent.
 */

const FUNCTIONS = fileURLToPath(new URL('./functions/authorizers', import.meta.url));
const prefix = testPrefix('authz');
const dir = mkdtempSync(join(tmpdir(), 'tp-authz-'));
const recordFile = join(dir, 'calls.jsonl');
let upstream: Upstream;
let worker: TurnpikeProcess;
let edgeA: TurnpikeProcess;
let edgeB: TurnpikeProcess;
const started: TurnpikeProcess[] = [];

function config(overrides: { tokenTtl?: number } = {}): string {
  const fn = (exp: string) => `{ handler: "${FUNCTIONS}.${exp}", timeoutMs: 5000, environment: { RECORD_FILE: "${recordFile}" } }`;
  return `
gateway: { region: eu-west-1, accountId: "123456789012" }
functions:
  tokenAuth: ${fn('token')}
  requestAuth: ${fn('request')}
  simpleAuth: ${fn('simple')}
  echo: ${fn('echo')}
authorizers:
  tok:
    type: token
    function: tokenAuth
    identityValidationExpression: "^Bearer [a-z]+-[A-Za-z0-9]+$"
    resultTtlSeconds: ${overrides.tokenTtl ?? 300}
  # The gateway gives up on this one after 0.5 s (the others wait the default 10 s, cold starts included).
  tokStrict: { type: token, function: tokenAuth, timeoutMs: 500 }
  tok0: { type: token, function: tokenAuth, resultTtlSeconds: 0 }
  tok1: { type: token, function: tokenAuth, resultTtlSeconds: 1 }
apis:
  - name: shop
    id: shop123
    stages: { prod: { variables: { color: blue } } }
    authorizers:
      req:
        type: request
        function: requestAuth
        identitySource: "method.request.header.X-User, method.request.querystring.team"
      simple:
        type: request
        function: simpleAuth
        identitySource: [$request.header.X-User]
        payloadFormatVersion: "2.0"
        enableSimpleResponses: true
    routes:
      GET /pets/{id}:
        authorizer: tok
        integration:
          type: http_proxy
          uri: ${upstream.url}/pets/{id}
          requestHeaders: { X-Tenant: "\${context.authorizer.tenant}", X-Principal: "\${context.authorizer.principalId}", X-Tier: "tier-\${context.authorizer.tier}" }
      DELETE /pets/{id}: { authorizer: tok, integration: { type: mock, statusCode: 204 } }
      GET /nocache: { authorizer: tok0, integration: { type: mock, body: ok } }
      GET /strict: { authorizer: tokStrict, integration: { type: mock, body: ok } }
      GET /short: { authorizer: tok1, integration: { type: mock, body: ok } }
      GET /req/{id}: { authorizer: req, integration: { type: function, function: echo } }
      GET /simple: { authorizer: simple, integration: { type: function, function: echo, payloadFormatVersion: "2.0" } }
`;
}

/**
 * An edge process, once its Redis connection is up: before that its (fail-fast) policy cache can neither
 * read nor share, and the tests count authorizer calls. /readyz is the only signal, so it is polled.
 */
async function startEdge(file: string): Promise<TurnpikeProcess> {
  const p = await spawnTurnpike(['edge', '--config', file, '--port', '0', '--management-port=0', '--redis', SHARED_REDIS_URL, '--key-prefix', prefix]);
  started.push(p);
  const deadline = Date.now() + 10_000;
  while ((await rawRequest(p.info.managementPort as number, { path: '/readyz' })).status !== 200) {
    if (Date.now() > deadline) throw new Error(`edge not ready:\n${p.output()}`);
    await new Promise((r) => setTimeout(r, 50));
  }
  return p;
}

const port = (p: TurnpikeProcess) => p.info.port as number;
const get = (p: TurnpikeProcess, path: string, headers: Record<string, string> = {}, method = 'GET') => rawRequest(port(p), { method, path, headers });
let nonce = 0;
/** A token no earlier test used, so every test starts with a cold cache. */
const token = (action: string) => `Bearer ${action}-n${++nonce}x${process.pid}`;

function calls(): Record<string, any>[] {
  if (!existsSync(recordFile)) return [];
  return readFileSync(recordFile, 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l));
}
const callsFor = (tok: string) => calls().filter((c) => c.authorizationToken === tok);

beforeAll(async () => {
  upstream = await startUpstream(echoHandler);
  const file = join(dir, 'turnpike.yaml');
  writeFileSync(file, config());
  worker = await spawnTurnpike(['worker', '--config', file, '--redis', SHARED_REDIS_URL, '--key-prefix', prefix], { readyEvent: 'ready' });
  started.push(worker);
  [edgeA, edgeB] = await Promise.all([startEdge(file), startEdge(file)]);
}, 60_000);

afterAll(async () => {
  await Promise.all(started.map((p) => p.stop()));
  await upstream?.close();
  await deletePrefix(SHARED_REDIS_URL, prefix);
  rmSync(dir, { recursive: true, force: true });
});

describe('TOKEN authorizers', () => {
  it('allow, pass principal and context to the upstream, and are called once across two edges', async () => {
    const t = token('allow');
    const r = await get(edgeA, '/prod/pets/1', { authorization: t });
    expect(r.status).toBe(200);
    const seen = json(r);
    expect(seen.url).toBe('/pets/1');
    expect(seen.headers['x-tenant']).toBe('acme');
    expect(seen.headers['x-principal']).toBe('user-42');
    expect(seen.headers['x-tier']).toBe('tier-3');
    // The event, as API Gateway sends it.
    expect(callsFor(t)).toEqual([{ type: 'TOKEN', authorizationToken: t, methodArn: 'arn:aws:execute-api:eu-west-1:123456789012:shop123/prod/GET/pets/1' }]);

    // Cached: the other edge process and this one answer without calling the function again.
    for (const e of [edgeB, edgeA, edgeB]) expect((await get(e, '/prod/pets/1', { authorization: t })).status).toBe(200);
    expect(callsFor(t)).toHaveLength(1);
  });

  it('count cache hits and misses in the node\'s metrics', async () => {
    /** The counter for GET /pets/{id} on edge B, from its Prometheus endpoint. */
    const counter = async (kind: 'hits' | 'misses') => {
      const text = (await rawRequest(edgeB.info.managementPort as number, { path: '/metrics' })).body.toString();
      const line = text.split('\n').find((l) => l.startsWith(`turnpike_authorizer_cache_${kind}`) && l.includes('GET /pets/{id}'));
      return line ? Number(line.slice(line.lastIndexOf(' ') + 1)) : 0;
    };
    const [hits, misses] = [await counter('hits'), await counter('misses')];
    const t = token('allow');
    expect((await get(edgeA, '/prod/pets/3', { authorization: t })).status).toBe(200); // miss, on A
    expect((await get(edgeB, '/prod/pets/3', { authorization: t })).status).toBe(200); // hit in Redis
    expect((await get(edgeB, '/prod/pets/3', { authorization: t })).status).toBe(200); // hit in B's memory
    expect((await get(edgeB, '/prod/pets/3', { authorization: token('allow') })).status).toBe(200); // miss, on B
    expect(await counter('hits')).toBe(hits + 2);
    expect(await counter('misses')).toBe(misses + 1);
  });

  it('answer 401 without calling the function for a missing or invalid token', async () => {
    const before = calls().length;
    for (const headers of [{}, { authorization: 'Basic dXNlcjpwYXNz' }, { authorization: '' }] as Record<string, string>[]) {
      const r = await get(edgeA, '/prod/pets/1', headers);
      expect(r.status).toBe(401);
      expect(json(r)).toEqual({ message: 'Unauthorized' });
    }
    expect(calls().length).toBe(before);
  });

  it('answer 401 when the function throws Unauthorized, and do not cache it', async () => {
    const t = token('unauthorized');
    for (const e of [edgeA, edgeB]) {
      const r = await get(e, '/prod/pets/1', { authorization: t });
      expect(r.status).toBe(401);
      expect(json(r)).toEqual({ message: 'Unauthorized' });
    }
    expect(callsFor(t)).toHaveLength(2);
  });

  it('answer 403 for a Deny, and cache the denial', async () => {
    const t = token('deny');
    for (const e of [edgeA, edgeB]) {
      const r = await get(e, '/prod/pets/1', { authorization: t });
      expect(r.status).toBe(403);
      // An explicit Deny has AWS's own body, capital M included; no matching Allow is the lowercase one.
      expect(json(r)).toEqual({ Message: 'User is not authorized to access this resource with an explicit deny' });
      expect(r.headers['x-amzn-errortype']).toBe('AccessDeniedException');
    }
    expect(callsFor(t)).toHaveLength(1);
  });

  it('evaluate a cached policy against the method being called now', async () => {
    // Allowed on GET /pets/* only: the cached policy from GET /pets/1 denies DELETE /pets/1.
    const t = token('getonly');
    expect((await get(edgeA, '/prod/pets/1', { authorization: t })).status).toBe(200);
    expect((await get(edgeB, '/prod/pets/2', { authorization: t })).status).toBe(200);
    const noAllow = await get(edgeB, '/prod/pets/1', { authorization: t }, 'DELETE');
    expect(noAllow.status).toBe(403);
    expect(json(noAllow)).toEqual({ message: 'User is not authorized to access this resource' });
    expect(callsFor(t)).toHaveLength(1);
    // An explicit Deny on DELETE beats the Allow on everything.
    const d = token('denydelete');
    expect((await get(edgeA, '/prod/pets/1', { authorization: d })).status).toBe(200);
    expect((await get(edgeA, '/prod/pets/1', { authorization: d }, 'DELETE')).status).toBe(403);
  });

  it('answer 500 AuthorizerConfigurationException for a failing, malformed or too slow authorizer', async () => {
    for (const [action, path] of [['fail', '/prod/pets/1'], ['malformed', '/prod/pets/1'], ['slow', '/prod/strict']]) {
      const r = await get(edgeA, path!, { authorization: token(action!) });
      expect(r.status, action).toBe(500);
      expect(json(r)).toEqual({ message: null });
      expect(r.headers['x-amzn-errortype']).toBe('AuthorizerConfigurationException');
    }
    // The cause is in the edge's log with the request id, never in the response.
    expect(edgeA.output()).toMatch(/cannot read the user database/);
    expect(edgeA.output()).toMatch(/malformed authorizer result/);
  });

  it('call the function once for 100 concurrent requests with one token', async () => {
    const t = token('gate');
    const all = await Promise.all(Array.from({ length: 100 }, () => get(edgeA, '/prod/pets/5', { authorization: t })));
    expect(all.map((r) => r.status)).toEqual(Array(100).fill(200));
    expect(all.every((r) => json(r).headers['x-tenant'] === 'initech')).toBe(true);
    expect(callsFor(t)).toHaveLength(1);
  });

  it('call the function for every request with TTL 0', async () => {
    const t = token('allow');
    for (let i = 0; i < 3; i++) expect((await get(i % 2 ? edgeA : edgeB, '/prod/nocache', { authorization: t })).status).toBe(200);
    expect(callsFor(t)).toHaveLength(3);
  });

  it('call the function again once the TTL has passed', async () => {
    const t = token('allow');
    expect((await get(edgeA, '/prod/short', { authorization: t })).status).toBe(200);
    expect((await get(edgeB, '/prod/short', { authorization: t })).status).toBe(200);
    expect(callsFor(t)).toHaveLength(1);
    // The 1 s TTL has no event to wait for: poll with a deadline until a request runs the function again.
    const deadline = Date.now() + 5000;
    while (callsFor(t).length === 1 && Date.now() < deadline) {
      expect((await get(edgeB, '/prod/short', { authorization: t })).status).toBe(200);
      await new Promise((r) => setTimeout(r, 100));
    }
    expect(callsFor(t)).toHaveLength(2);
  });

  it('start over when the authorizer configuration changes', async () => {
    const t = token('allow');
    expect((await get(edgeA, '/prod/pets/1', { authorization: t })).status).toBe(200);
    const changed = join(dir, 'changed.yaml');
    writeFileSync(changed, config({ tokenTtl: 600 }));
    const edgeC = await startEdge(changed);
    expect((await get(edgeC, '/prod/pets/1', { authorization: t })).status).toBe(200);
    expect(callsFor(t)).toHaveLength(2);
    // The unchanged edges still share their entry.
    expect((await get(edgeB, '/prod/pets/1', { authorization: t })).status).toBe(200);
    expect(callsFor(t)).toHaveLength(2);
  });
});

describe('REQUEST authorizers', () => {
  it('get the documented REQUEST event, and their context reaches the function', async () => {
    const team = `t${process.pid}`;
    const r = await get(edgeA, `/prod/req/9?team=${team}&x=1&x=2`, { 'x-user': 'ann', 'user-agent': 'tests' });
    expect(r.status).toBe(200);
    expect(json(r).authorizer).toEqual({ principalId: `ann@${team}`, tenant: team, color: 'blue', integrationLatency: expect.any(Number) });
    const event = calls().find((c) => c.type === 'REQUEST' && c.queryStringParameters?.team === team)!;
    expect(event).toMatchObject({
      type: 'REQUEST',
      methodArn: 'arn:aws:execute-api:eu-west-1:123456789012:shop123/prod/GET/req/9',
      resource: '/req/{id}',
      path: '/req/9',
      httpMethod: 'GET',
      queryStringParameters: { team, x: '2' },
      multiValueQueryStringParameters: { team: [team], x: ['1', '2'] },
      pathParameters: { id: '9' },
      stageVariables: { color: 'blue' },
      requestContext: {
        accountId: '123456789012',
        apiId: 'shop123',
        stage: 'prod',
        httpMethod: 'GET',
        resourcePath: '/req/{id}',
        path: '/prod/req/9',
        protocol: 'HTTP/1.1',
        identity: { sourceIp: '127.0.0.1', userAgent: 'tests' },
      },
    });
    // REST events carry header names in Title-Case (docs/aws-behaviour.md).
    expect(event.headers['X-User']).toBe('ann');
    expect(event.multiValueHeaders['X-User']).toEqual(['ann']);
    expect(typeof event.requestContext.requestId).toBe('string');
    expect(event.requestContext.requestTimeEpoch).toBeGreaterThan(0);
  });

  it('answer 401 without calling when an identity source is missing, and key the cache by all of them', async () => {
    const before = calls().length;
    expect((await get(edgeA, '/prod/req/1?team=a')).status).toBe(401);
    expect((await get(edgeA, '/prod/req/1', { 'x-user': 'ann' })).status).toBe(401);
    expect(calls().length).toBe(before);
    expect((await get(edgeA, '/prod/req/1?team=none', { 'x-user': 'bob' })).status).toBe(401);
    const team = `k${process.pid}`;
    expect((await get(edgeA, `/prod/req/1?team=${team}`, { 'x-user': 'bob' })).status).toBe(200);
    expect((await get(edgeB, `/prod/req/1?team=${team}`, { 'x-user': 'bob' })).status).toBe(200);
    // The policy allowed only the method ARN it was asked for (the AWS pitfall): cached, it denies another path.
    expect((await get(edgeB, `/prod/req/2?team=${team}`, { 'x-user': 'bob' })).status).toBe(403);
    expect((await get(edgeB, `/prod/req/1?team=${team}`, { 'x-user': 'cat' })).status).toBe(200);
    expect(calls().filter((c) => c.queryStringParameters?.team === team)).toHaveLength(2);
  });

  it('with payload 2.0 simple responses: the documented event, isAuthorized, and context for the function', async () => {
    const ok = await get(edgeA, '/prod/simple?a=1&a=2', { 'x-user': 'good', cookie: 'c1=1; c2=2' });
    expect(ok.status).toBe(200);
    expect(json(ok).authorizer).toEqual({ lambda: { tenant: 'hooli', levels: [1, 2] } });
    const no = await get(edgeA, '/prod/simple', { 'x-user': 'bad' });
    expect(no.status).toBe(403);
    expect(json(no)).toEqual({ message: 'User is not authorized to access this resource' });
    const event = calls().find((c) => c.version === '2.0' && c.headers['x-user'] === 'good')!;
    expect(event).toMatchObject({
      version: '2.0',
      type: 'REQUEST',
      routeArn: 'arn:aws:execute-api:eu-west-1:123456789012:shop123/prod/GET/simple',
      identitySource: ['good'],
      routeKey: 'GET /simple',
      rawPath: '/prod/simple',
      rawQueryString: 'a=1&a=2',
      cookies: ['c1=1', 'c2=2'],
      queryStringParameters: { a: '1,2' },
      stageVariables: { color: 'blue' },
      requestContext: { accountId: '123456789012', apiId: 'shop123', stage: 'prod', routeKey: 'GET /simple', http: { method: 'GET', path: '/prod/simple', protocol: 'HTTP/1.1', sourceIp: '127.0.0.1' } },
    });
    expect(event.headers.cookie).toBeUndefined();
  });
});
