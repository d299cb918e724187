import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdtempSync, readFileSync, rmSync, writeFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import { loadConfig } from '@turnpike/config';
import { Edge } from '@turnpike/edge';
import { SHARED_REDIS_URL, deletePrefix, echoHandler, spawnTurnpike, startUpstream, testPrefix, type TurnpikeProcess, type Upstream } from '@turnpike/testing';
import { EXAMPLES, FIXTURES, eventually, json, request, type Response } from './helpers.js';

// Issue 12: unchanged AWS handlers, authorizers and clients against a real edge and a real worker
// process. Every expectation here is what API Gateway answers (docs/aws-behaviour.md has the table).
const prefix = testPrefix('aws');
const dir = mkdtempSync(join(tmpdir(), 'tp-aws-'));
const recordFile = join(dir, 'record.log');
const configFile = join(dir, 'turnpike.yaml');
let upstream: Upstream;
let worker: TurnpikeProcess;
let edge: Edge;

beforeAll(async () => {
  upstream = await startUpstream(echoHandler);
  writeFileSync(
    configFile,
    `
gateway:
  accountId: "123456789012"
functions:
  echo: { handler: ${EXAMPLES}echo.handler }
  record: { handler: ${FIXTURES}record.handler, environment: { RECORD_FILE: ${recordFile} } }
  slow: { handler: ${FIXTURES}slow.handler }
authorizers:
  req:
    type: request
    function: awsAuthorizer
    identitySource: method.request.header.Authorization
    resultTtlSeconds: 0
apis:
  - name: shop
    id: shop1
    hosts: [rest.example.com]
    stages: { prod: {} }
    binaryMediaTypes: [image/png]
    routes:
      GET /headers: { integration: { type: function, function: awsHeaders } }
      POST /headers: { integration: { type: function, function: awsHeaders } }
      GET /authz: { authorizer: req, integration: { type: function, function: awsHeaders } }
      POST /record: { integration: { type: function, function: record } }
      POST /mapped: { integration: { type: function, function: record, invocationTypeFrom: InvocationType } }
      GET /throws: { integration: { type: function, function: throws } }
      GET /slow: { integration: { type: function, function: slow, timeoutMs: 300 } }
      GET /b64: { integration: { type: function, function: base64 } }
      GET /echo: { integration: { type: function, function: echo } }
      GET /keyed: { apiKeyRequired: true, integration: { type: mock } }
      GET /limited: { throttle: { rateLimit: 0.001, burstLimit: 1 }, integration: { type: mock } }
      GET /proxy: { integration: { type: http_proxy, uri: "${upstream.url}/p" } }
  - name: hapi
    type: http
    hosts: [http.example.com]
    routes:
      GET /bare: { integration: { type: function, function: bare, payloadFormatVersion: "2.0" } }
      GET /throws: { integration: { type: function, function: throws, payloadFormatVersion: "2.0" } }
      GET /slow: { integration: { type: function, function: slow, payloadFormatVersion: "2.0", timeoutMs: 300 } }
      GET /b64: { integration: { type: function, function: base64, payloadFormatVersion: "2.0" } }
      GET /authz: { authorizer: req, integration: { type: function, function: echo, payloadFormatVersion: "2.0" } }
`,
  );
  worker = await spawnTurnpike(['worker', '--config', configFile, '--functions', FIXTURES, '--redis', SHARED_REDIS_URL, '--key-prefix', prefix, '--concurrency', '4'], { readyEvent: 'ready', timeoutMs: 30_000 });
  edge = await new Edge({ config: loadConfig(configFile), port: 0, host: '127.0.0.1', managementPort: -1, redisUrl: SHARED_REDIS_URL, keyPrefix: prefix, logger: pino({ level: 'silent' }) }).start();
});

afterAll(async () => {
  await edge?.stop(1000);
  expect(await worker?.stop()).toBe(0);
  await upstream?.close();
  await deletePrefix(SHARED_REDIS_URL, prefix);
  rmSync(dir, { recursive: true, force: true });
});

const rest = (path: string, headers: Record<string, string> = {}, method = 'GET', body?: string) =>
  request(edge.port, { method, path: `/prod${path}`, headers: { host: 'rest.example.com', ...headers }, body });
const http = (path: string, headers: Record<string, string> = {}) => request(edge.port, { path, headers: { host: 'http.example.com', ...headers } });

/** A gateway error as AWS sends it: status, JSON body, x-amzn-ErrorType, and the request-id headers. */
function expectGatewayError(r: Response, status: number, body: unknown, errorType: string): void {
  expect({ status: r.status, body: json(r), errorType: r.headers['x-amzn-errortype'] }).toEqual({ status, body, errorType });
  expect(r.headers['x-amzn-requestid']).toMatch(/^[0-9a-f-]{36}$/);
}

describe('(1) header case in REST events and REQUEST authorizer events', () => {
  it('hands a REST handler Authorization and Content-Type in Title-Case', async () => {
    const r = await rest('/headers', { authorization: 'Bearer t', 'content-type': 'text/plain', 'x-custom-thing': 'a' }, 'POST', 'hi');
    expect(r.status).toBe(200);
    expect(json(r)).toMatchObject({ authorization: 'Bearer t', contentType: 'text/plain', multi: ['a'] });
  });

  it('hands a REQUEST authorizer event.headers.Authorization', async () => {
    const r = await rest('/authz', { authorization: 'allow' });
    expect(r.status).toBe(200);
    expect(json(r).authorization).toBe('allow');
  });
});

describe('(3) asynchronous only by the integration', () => {
  it("ignores a client's X-Amz-Invocation-Type: Event on a synchronous route", async () => {
    const r = await rest('/record', { 'x-amz-invocation-type': 'Event' }, 'POST', JSON.stringify({ marker: 'sync-1' }));
    expect(r.status).toBe(200);
    expect(r.body.toString()).toBe('sync-1');
  });

  it('runs asynchronously when the mapped method request header says Event', async () => {
    const r = await rest('/mapped', { invocationtype: 'Event' }, 'POST', JSON.stringify({ marker: 'async-1' }));
    expect(r.status).toBe(202);
    await eventually(() => (existsSync(recordFile) && readFileSync(recordFile, 'utf8').includes('async-1') ? true : undefined), 'the async invocation');
  });
});

describe('(4) authorizer context', () => {
  it('reaches a payload 1.0 function as strings, with integrationLatency', async () => {
    const r = await rest('/authz', { authorization: 'allow' });
    const a = json(r).authorizer;
    expect(a).toMatchObject({ principalId: 'user-1', count: '5', isAdmin: 'true', name: 'ann' });
    expect(typeof a.integrationLatency).toBe('number');
  });

  it('keeps its types in payload 2.0 authorizer.lambda', async () => {
    const r = await http('/authz', { authorization: 'allow' });
    expect(r.status).toBe(200);
    expect(json(r).event.requestContext.authorizer.lambda).toEqual({ count: 5, isAdmin: true, name: 'ann' });
  });
});

describe('(5) the API kind decides the gateway answers', () => {
  it.each([
    ['an unknown path', 'GET', '/nowhere'],
    ['a known path with another method', 'DELETE', '/headers'],
    ['HEAD on an unknown path', 'HEAD', '/nowhere'],
    ['OPTIONS on an unknown path', 'OPTIONS', '/nowhere'],
  ])('REST: %s is 403 Missing Authentication Token', async (_, method, path) => {
    const r = await rest(path, {}, method);
    expect(r.status).toBe(403);
    expect(r.headers['x-amzn-errortype']).toBe('MissingAuthenticationTokenException');
    if (method !== 'HEAD') expect(json(r)).toEqual({ message: 'Missing Authentication Token' });
    expect(r.headers['x-amz-apigw-id']).toMatch(/^[A-Za-z0-9+/]{15}=$/);
  });

  it('HTTP API: an unknown route is 404 Not Found with apigw-requestid', async () => {
    const r = await http('/nowhere');
    expectGatewayError(r, 404, { message: 'Not Found' }, 'NotFoundException');
    expect(r.headers['apigw-requestid']).toMatch(/^[A-Za-z0-9+/]{15}=$/);
  });

  it('HTTP API: a bare string result is the body itself', async () => {
    const r = await http('/bare');
    expect(r.status).toBe(200);
    expect(r.body.toString()).toBe('hello');
  });

  it('HTTP API: a handler error is 500 Internal Server Error, a timeout 503', async () => {
    expectGatewayError(await http('/throws'), 500, { message: 'Internal Server Error' }, 'InternalServerErrorException');
    expectGatewayError(await http('/slow?ms=2000'), 503, { message: 'Service Unavailable' }, 'ServiceUnavailableException');
  });

  it('REST: a handler error is 502, a timeout 504', async () => {
    expectGatewayError(await rest('/throws'), 502, { message: 'Internal server error' }, 'InternalServerErrorException');
    expectGatewayError(await rest('/slow?ms=2000'), 504, { message: 'Endpoint request timed out' }, 'InternalServerErrorException');
  });
});

describe('(6) error headers and authorizer refusals', () => {
  it('answers a missing API key 403 ForbiddenException and throttling 429 TooManyRequestsException', async () => {
    expectGatewayError(await rest('/keyed'), 403, { message: 'Forbidden' }, 'ForbiddenException');
    let r = await rest('/limited');
    if (r.status === 200) r = await rest('/limited');
    expectGatewayError(r, 429, { message: 'Too Many Requests' }, 'TooManyRequestsException');
  });

  it('tells an explicit Deny from no matching Allow', async () => {
    expectGatewayError(await rest('/authz', { authorization: 'deny' }), 403, { Message: 'User is not authorized to access this resource with an explicit deny' }, 'AccessDeniedException');
    expectGatewayError(await rest('/authz', { authorization: 'elsewhere' }), 403, { message: 'User is not authorized to access this resource' }, 'AccessDeniedException');
    expectGatewayError(await rest('/authz'), 401, { message: 'Unauthorized' }, 'UnauthorizedException');
  });

  it('answers an authorizer that crashes or returns no policy 500 AuthorizerConfigurationException', async () => {
    expectGatewayError(await rest('/authz', { authorization: 'crash' }), 500, { message: null }, 'AuthorizerConfigurationException');
    expectGatewayError(await rest('/authz', { authorization: 'garbage' }), 500, { message: null }, 'AuthorizerConfigurationException');
  });

  it('puts x-amz-apigw-id on integration responses too', async () => {
    const r = await rest('/headers');
    expect(r.status).toBe(200);
    expect(r.headers['x-amz-apigw-id']).toMatch(/^[A-Za-z0-9+/]{15}=$/);
  });
});

describe('(7) forwarded headers', () => {
  it("appends the client's address to X-Forwarded-For and sets Proto, Port and X-Amzn-Trace-Id", async () => {
    const r = await rest('/proxy', { 'x-forwarded-for': '6.6.6.6', 'x-forwarded-proto': 'https', 'x-forwarded-port': '1' });
    const h = json(r).headers;
    expect(h['x-forwarded-for']).toBe('6.6.6.6, 127.0.0.1');
    expect(h['x-forwarded-proto']).toBe('http');
    expect(h['x-forwarded-port']).toBe(String(edge.port));
    expect(h['x-amzn-trace-id']).toMatch(/^Root=1-[0-9a-f]{8}-[0-9a-f]{24}$/);
  });

  it('gives a function the same headers and the socket peer as sourceIp when no proxy is trusted', async () => {
    const r = await rest('/echo', { 'x-forwarded-for': '6.6.6.6' });
    const { event } = json(r);
    expect(event.headers['X-Forwarded-For']).toBe('6.6.6.6, 127.0.0.1');
    expect(event.requestContext.identity.sourceIp).toBe('127.0.0.1');
  });
});

describe('(8) binary responses follow the first Accept type', () => {
  it('REST: decodes only when the first Accept type is a binary media type', async () => {
    const bytes = await rest('/b64', { accept: 'image/png, */*' });
    expect([...bytes.body]).toEqual([0xff, 0x00]);
    const text = await rest('/b64', { accept: 'application/json, image/png' });
    expect(text.body.toString()).toBe(Buffer.from([0xff, 0x00]).toString('base64'));
  });

  it('HTTP API: always decodes', async () => {
    expect([...(await http('/b64')).body]).toEqual([0xff, 0x00]);
  });
});

describe('(9) request context formats', () => {
  it("has AWS's resourceId and extendedRequestId formats and the Host's port in domainName", async () => {
    const r = await request(edge.port, { path: '/prod/echo', headers: { host: 'rest.example.com:8443' } });
    const rc = json(r).event.requestContext;
    expect(rc.resourceId).toMatch(/^[a-z0-9]{6}$/);
    expect(rc.extendedRequestId).toBe(r.headers['x-amz-apigw-id']);
    expect(rc.domainName).toBe('rest.example.com:8443');
    expect(rc.domainPrefix).toBe('rest');
  });
});
