import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { SpanKind, SpanStatusCode } from '@opentelemetry/api';
import { InMemorySpanExporter, type ReadableSpan } from '@opentelemetry/sdk-trace-base';
import { loadConfig } from '@turnpike/config';
import type { Edge } from '@turnpike/edge';
import { SHARED_REDIS_URL, deletePrefix, spawnTurnpike, testPrefix, type TurnpikeProcess } from '@turnpike/testing';
import { json, rawRequest } from './fixtures.js';
import { startTracedEdge, waitForSpans } from './telemetryFixtures.js';

/**
 * The span tree of requests that go through the other stages: a TOKEN authorizer and a function run
 * by a real worker process, and a throttled request. The edge runs in this process so its spans land in
 * an in-memory exporter; the worker is a real `turnpike worker` on the same Redis prefix.
 */
const FUNCTIONS = fileURLToPath(new URL('./functions/tracing', import.meta.url));
const TRACE_ID = '0af7651916cd43dd8448eb211c80319c';
const CLIENT_SPAN = 'b7ad6b7169203331';
const sampled = { traceparent: `00-${TRACE_ID}-${CLIENT_SPAN}-01` };

describe('tracing through authorizer, function and throttle stages', () => {
  const prefix = testPrefix('tracing');
  const dir = mkdtempSync(join(tmpdir(), 'tp-tracing-'));
  const spans = new InMemorySpanExporter();
  let worker: TurnpikeProcess;
  let edge: Edge;

  beforeAll(async () => {
    const file = join(dir, 'turnpike.yaml');
    writeFileSync(
      file,
      `
gateway: { tracing: { sampleRatio: 0 } }
functions:
  auth: { handler: "${FUNCTIONS}.authorizer", timeoutMs: 5000 }
  echo: { handler: "${FUNCTIONS}.echo", timeoutMs: 5000 }
authorizers:
  tok: { type: token, function: auth, resultTtlSeconds: 0 }
apis:
  - name: shop
    routes:
      GET /fn: { authorizer: tok, integration: { type: function, function: echo } }
      GET /limited: { throttle: { rateLimit: 0.001, burstLimit: 1 }, integration: { type: mock, body: ok } }
`,
    );
    worker = await spawnTurnpike(['worker', '--config', file, '--redis', SHARED_REDIS_URL, '--key-prefix', prefix], { readyEvent: 'ready' });
    edge = await startTracedEdge(loadConfig(file), prefix, spans);
  }, 60_000);

  afterAll(async () => {
    await edge?.stop(1000);
    await worker?.stop();
    await deletePrefix(SHARED_REDIS_URL, prefix);
    rmSync(dir, { recursive: true, force: true });
  });

  it('a function call behind an authorizer: authorize and integration spans under the request, and the function continues the trace', async () => {
    spans.reset();
    const r = await rawRequest(edge.port, { path: '/fn', headers: { ...sampled, authorization: 'Bearer allow-1' } });
    expect(r.status).toBe(200);
    const seen = json(r);
    expect(seen.principalId).toBe('user-42');

    const all = await waitForSpans(spans, 3);
    const server = one(all, (s) => s.kind === SpanKind.SERVER);
    const authorize = one(all, (s) => s.name === 'authorize');
    const integration = one(all, (s) => s.name === 'integration function');
    expect(server.name).toBe('GET /fn');
    expect(server.parentSpanContext?.spanId).toBe(CLIENT_SPAN);
    expect(server.attributes).toMatchObject({ 'http.response.status_code': 200, 'enduser.id': 'user-42', 'turnpike.route_key': 'GET /fn' });
    for (const child of [authorize, integration]) {
      expect(child.spanContext().traceId).toBe(TRACE_ID);
      expect(child.parentSpanContext?.spanId).toBe(server.spanContext().spanId);
    }
    expect(authorize.kind).toBe(SpanKind.INTERNAL);
    expect(authorize.attributes['turnpike.stage.result']).toBe('continue');
    expect(integration.kind).toBe(SpanKind.CLIENT);
    expect(integration.attributes['turnpike.integration.type']).toBe('function');
    // The authorizer ran before the integration was called (span clocks agree to well under a millisecond).
    expect(hrMs(authorize.endTime)).toBeLessThanOrEqual(hrMs(integration.startTime) + 1);
    // edge → worker → function: the handler saw the integration span as its parent.
    expect(seen.traceparent).toBe(`00-${TRACE_ID}-${integration.spanContext().spanId}-01`);
  });

  it('a request the authorizer refuses: the authorize span stopped it with 401', async () => {
    spans.reset();
    const r = await rawRequest(edge.port, { path: '/fn', headers: { ...sampled, authorization: 'Bearer nope' } });
    expect(r.status).toBe(401);
    const all = await waitForSpans(spans, 2);
    const authorize = one(all, (s) => s.name === 'authorize');
    expect(authorize.attributes).toMatchObject({ 'turnpike.stage.result': 'stop', 'http.response.status_code': 401 });
    expect(all.some((s) => s.name.startsWith('integration'))).toBe(false);
    expect(one(all, (s) => s.kind === SpanKind.SERVER).status.code).not.toBe(SpanStatusCode.ERROR);
  });

  it('a throttled request: the throttle span stopped it with 429, no integration ran, and the metric counts it', async () => {
    expect((await rawRequest(edge.port, { path: '/limited' })).status).toBe(200);
    spans.reset();
    const r = await rawRequest(edge.port, { path: '/limited', headers: sampled });
    expect(r.status).toBe(429);
    const all = await waitForSpans(spans, 2);
    const server = one(all, (s) => s.kind === SpanKind.SERVER);
    const throttle = one(all, (s) => s.name === 'throttle');
    expect(server.attributes['http.response.status_code']).toBe(429);
    expect(throttle.parentSpanContext?.spanId).toBe(server.spanContext().spanId);
    expect(throttle.attributes).toMatchObject({ 'turnpike.stage.result': 'stop', 'http.response.status_code': 429 });
    expect(all).toHaveLength(2);

    const metrics = (await rawRequest(edge.managementPort, { path: '/metrics' })).body.toString();
    const line = metrics.split('\n').find((l) => /^turnpike_throttled_requests_total\{.*route="GET \/limited"/.test(l));
    expect(Number(line?.split(' ').pop())).toBeGreaterThanOrEqual(1);
    expect(metrics).toMatch(/turnpike_requests_total\{[^}]*route="GET \/limited",status_class="4XX"[^}]*\} [1-9]/);
  });
});

function one(spans: ReadableSpan[], pick: (s: ReadableSpan) => boolean): ReadableSpan {
  const found = spans.filter(pick);
  const [only] = found;
  if (only === undefined || found.length !== 1) throw new Error(`expected one matching span, found ${found.length}: ${spans.map((s) => s.name).join(', ')}`);
  return only;
}

const hrMs = (t: [number, number]) => t[0] * 1000 + t[1] / 1e6;
