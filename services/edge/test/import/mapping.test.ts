import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { deletePrefix, echoHandler, SHARED_REDIS_URL, spawnTurnpike, startUpstream, testPrefix, type TurnpikeProcess, type Upstream } from '@turnpike/testing';
import { json, rawRequest } from '../fixtures.js';

/**
 * test/fixtures/openapi/mapping-oas30.yaml through a running edge and worker: VTL request and response
 * templates, mock status selection, a non-proxy Lambda with errors mapped by selectionPattern, a
 * non-proxy http integration, passthrough behaviour.
 */
const fixtures = join(__dirname, '../../../../test/fixtures/openapi');
const dir = mkdtempSync(join(tmpdir(), 'tp-mapping-'));
const prefix = testPrefix('mapping');
let upstream: Upstream;
let worker: TurnpikeProcess;
let edge: TurnpikeProcess;
const req = (method: string, path: string, opts: { headers?: Record<string, string>; body?: string } = {}) => rawRequest(edge.info.port as number, { method, path, headers: opts.headers, body: opts.body });

beforeAll(async () => {
  upstream = await startUpstream(echoHandler);
  const file = join(dir, 'turnpike.yaml');
  writeFileSync(
    file,
    `functions:
  orders: { handler: ${join(fixtures, 'functions/orders.handler')} }
apis:
  - name: mapping
    openapi: ${join(fixtures, 'mapping-oas30.yaml')}
    stages:
      prod: { variables: { upstream: "${upstream.url}", version: "v7" } }
`,
  );
  worker = await spawnTurnpike(['worker', '--config', file, '--redis', SHARED_REDIS_URL, '--key-prefix', prefix], { readyEvent: 'ready' });
  edge = await spawnTurnpike(['edge', '--config', file, '--port', '0', '--management-port=-1', '--redis', SHARED_REDIS_URL, '--key-prefix', prefix]);
}, 60_000);

afterAll(async () => {
  if (process.env.TP_DEBUG) console.log(edge?.output(), worker?.output());
  await edge?.stop();
  await worker?.stop();
  upstream?.close();
  await deletePrefix(SHARED_REDIS_URL, prefix);
  rmSync(dir, { recursive: true, force: true });
});

describe('mock integrations with templates', () => {
  it('selects the status from the request template and renders the chosen response template', async () => {
    const ok = await req('GET', '/prod/status/200?tag=a"b');
    expect(ok.status).toBe(200);
    expect(ok.headers['x-code']).toBe('mocked');
    expect(json(ok)).toEqual({ code: '200', stage: 'prod', tag: 'a"b', v: 'v7' });
    const missing = await req('GET', '/prod/status/404');
    expect(missing.status).toBe(404);
    expect(json(missing)).toMatchObject({ message: 'no such thing', requestId: expect.stringMatching(/.+/) });
  });

  it('serves a text/html response template with its content type', async () => {
    const r = await req('GET', '/prod/', { headers: { accept: 'text/html' } });
    expect(r.status).toBe(200);
    expect(r.headers['content-type']).toBe('text/html');
    expect(r.body.toString()).toBe('<html><body><h1>Welcome</h1></body></html>');
  });

  it('answers 415 for a content type without a template when passthroughBehavior is NEVER', async () => {
    expect((await req('POST', '/prod/strict', { headers: { 'content-type': 'text/plain' }, body: 'x' })).status).toBe(415);
    const r = await req('POST', '/prod/strict', { headers: { 'content-type': 'application/json' }, body: '{"a":1}' });
    expect(r.status).toBe(201);
    expect(json(r)).toEqual({ accepted: true, stage: 'prod' });
  });
});

describe('non-proxy Lambda integration (type: aws)', () => {
  it('invokes the function with the request template output and maps its result', async () => {
    const r = await req('POST', '/prod/orders/o-1', { headers: { 'content-type': 'application/json', 'x-caller': 'ann' }, body: '{"note":"rush"}' });
    expect(r.status).toBe(200);
    expect(json(r)).toEqual({ id: 'o-1', note: 'rush', stage: 'prod', caller: 'ann' });
  });

  it('selects the error response by the error message', async () => {
    const nf = await req('POST', '/prod/orders/missing', { headers: { 'content-type': 'application/json' }, body: '{}' });
    expect(nf.status).toBe(404);
    expect(json(nf)).toEqual({ error: 'NotFound: order missing does not exist' });
    const boom = await req('POST', '/prod/orders/boom', { headers: { 'content-type': 'application/json' }, body: '{}' });
    expect(boom.status).toBe(500);
    expect(boom.headers['x-error-type']).toBe('TypeError');
    expect(json(boom)).toEqual({ error: 'internal' });
  });

  it('refuses a content type without a template under WHEN_NO_TEMPLATES', async () => {
    expect((await req('POST', '/prod/orders/o-1', { headers: { 'content-type': 'text/plain' }, body: 'x' })).status).toBe(415);
  });
});

describe('non-proxy http integration', () => {
  it('wraps the upstream response with the response template', async () => {
    const r = await req('GET', '/prod/wrapped/9');
    expect(r.status).toBe(200);
    expect(r.headers['x-upstream-type']).toBe('application/json');
    expect(json(r)).toEqual({ wrapped: '/items/9', method: 'GET', stageHeader: 'prod' });
  });
});

describe('binary content handling', () => {
  it('sends a base64 template decoded with CONVERT_TO_BINARY', async () => {
    const r = await req('GET', '/prod/pixel');
    expect(r.status).toBe(200);
    expect(r.headers['content-type']).toBe('image/png');
    expect(r.body).toEqual(Buffer.from('iVBORw0KGgo=', 'base64'));
  });

  it('gives the integration a binary body as base64 with CONVERT_TO_TEXT', async () => {
    const png = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0x00, 0xff]);
    const r = await rawRequest(edge.info.port as number, { method: 'POST', path: '/prod/upload', headers: { 'content-type': 'image/png' }, body: png });
    expect(r.status).toBe(200);
    const { received, length } = json(r) as { received: string; length: number };
    // The echo upstream reports what it got, base64: the base64 text of the PNG bytes.
    expect(Buffer.from(received, 'base64').toString()).toBe(png.toString('base64'));
    expect(length).toBe(png.toString('base64').length);
  });
});
