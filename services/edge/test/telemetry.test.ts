import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SpanKind, SpanStatusCode } from '@opentelemetry/api';
import { InMemorySpanExporter } from '@opentelemetry/sdk-trace-base';
import { ConfigError, parseConfig } from '@turnpike/config';
import pino from 'pino';
import { Edge } from '@turnpike/edge';
import { localTelemetry } from '@turnpike/telemetry';
import { SHARED_REDIS_URL, deletePrefix, echoHandler, spawnTurnpike, startUpstream, testPrefix, type Upstream } from '@turnpike/testing';
import { rawRequest, json } from './fixtures.js';
import { startTracedEdge, waitForSpans } from './telemetryFixtures.js';

/**
 * Monitoring end to end on a real edge: spans land in an in-memory exporter, metrics are scraped from
 * the management listener's /metrics, access-log lines are read back from the file the edge wrote.
 */
describe('monitoring: traces, metrics, access logs', () => {
  let upstream: Upstream;
  let edge: Edge;
  const spans = new InMemorySpanExporter();
  const dir = mkdtempSync(join(tmpdir(), 'tp-telemetry-'));
  const prefix = testPrefix('telemetry');

  beforeAll(async () => {
    upstream = await startUpstream((req, res) => {
      if (req.url?.startsWith('/slow')) setTimeout(() => echoHandler(req, res), 30);
      else echoHandler(req, res);
    });
    const config = parseConfig(
      `
gateway:
  accessLog:
    destination: access.log
    format: '{"id":"$context.requestId","ip":"$context.identity.sourceIp","method":"$context.httpMethod","route":"$context.routeKey","resource":"$context.resourcePath","path":"$context.path","status":"$context.status","len":"$context.responseLength","latency":"$context.responseLatency","ilatency":"$context.integrationLatency","principal":"$context.authorizer.principalId","err":"$context.error.message","conn":"$context.connectionId","ua":"$context.identity.userAgent","time":"$context.requestTime"}'
  tracing: { sampleRatio: 0 }
apis:
  - name: shop
    basePath: /shop
    routes:
      GET /items/{id}: { integration: { type: http_proxy, uri: "${upstream.url}/items/{id}" } }
      GET /slow: { integration: { type: http_proxy, uri: "${upstream.url}/slow" } }
      GET /down: { integration: { type: http_proxy, uri: "http://127.0.0.1:1/down" } }
`,
      join(dir, 'turnpike.yaml'),
    );
    edge = await startTracedEdge(config, prefix, spans);
  });
  afterAll(async () => {
    await edge?.stop(1000);
    await upstream?.close();
    await deletePrefix(SHARED_REDIS_URL, prefix);
  });

  const TRACE_ID = '4bf92f3577b34da6a3ce929d0e0e4736';
  const CLIENT_SPAN = '00f067aa0ba902b7';

  it('traces a proxied request: a SERVER span under the client span, a CLIENT integration span under it, and the upstream continues the trace', async () => {
    spans.reset();
    const r = await rawRequest(edge.port, { path: '/shop/items/42?x=1', headers: { traceparent: `00-${TRACE_ID}-${CLIENT_SPAN}-01`, tracestate: 'vendor=abc' } });
    expect(r.status).toBe(200);
    const upstreamSaw = json(r).headers as Record<string, string>;

    const finished = await waitForSpans(spans, 2);
    const server = finished.find((s) => s.kind === SpanKind.SERVER)!;
    const integration = finished.find((s) => s.kind === SpanKind.CLIENT)!;
    expect(server.name).toBe('GET /items/{id}');
    expect(server.spanContext().traceId).toBe(TRACE_ID);
    expect(server.parentSpanContext?.spanId).toBe(CLIENT_SPAN);
    expect(server.attributes).toMatchObject({
      'http.request.method': 'GET',
      'http.route': '/items/{id}',
      'url.path': '/shop/items/42',
      'http.response.status_code': 200,
      'turnpike.api': 'shop',
      'turnpike.stage': '$default',
      'turnpike.route_key': 'GET /items/{id}',
      'turnpike.request_id': r.headers['x-amzn-requestid'],
    });
    expect(server.status.code).not.toBe(SpanStatusCode.ERROR);
    expect(integration.name).toBe('integration http_proxy');
    expect(integration.parentSpanContext?.spanId).toBe(server.spanContext().spanId);
    expect(integration.attributes).toMatchObject({ 'turnpike.integration.type': 'http_proxy', 'server.address': upstream.url });
    // The upstream is a child of the integration span, in the same trace; the client's tracestate passes on.
    expect(upstreamSaw.traceparent).toBe(`00-${TRACE_ID}-${integration.spanContext().spanId}-01`);
    expect(upstreamSaw.tracestate).toBe('vendor=abc');
  });

  it('marks a 502 span failed with the cause', async () => {
    spans.reset();
    const r = await rawRequest(edge.port, { path: '/shop/down', headers: { traceparent: `00-${TRACE_ID}-${CLIENT_SPAN}-01` } });
    expect(r.status).toBe(502);
    const [server] = (await waitForSpans(spans, 2)).filter((s) => s.kind === SpanKind.SERVER);
    expect(server!.status.code).toBe(SpanStatusCode.ERROR);
    expect(server!.status.message).toMatch(/upstream error/);
    expect(server!.attributes['http.response.status_code']).toBe(502);
  });

  it('makes no span and passes the traceparent through untouched when the request is not sampled', async () => {
    spans.reset();
    const notSampled = `00-${TRACE_ID}-${CLIENT_SPAN}-00`;
    const r = await rawRequest(edge.port, { path: '/shop/items/1', headers: { traceparent: notSampled } });
    expect(json(r).headers.traceparent).toBe(notSampled);
    const plain = await rawRequest(edge.port, { path: '/shop/items/1' });
    expect(json(plain).headers.traceparent).toBeUndefined();
    // A sampled request afterwards: once its spans are exported, any span of the two before would be too.
    const sentinel = await rawRequest(edge.port, { path: '/shop/items/2', headers: { traceparent: `00-${TRACE_ID}-${CLIENT_SPAN}-01` } });
    const finished = await waitForSpans(spans, 2);
    expect(finished).toHaveLength(2);
    expect(finished.find((s) => s.kind === SpanKind.SERVER)!.attributes['turnpike.request_id']).toBe(sentinel.headers['x-amzn-requestid']);
  });

  it('exposes Prometheus metrics labelled by route template and status class, never by raw path', async () => {
    for (const id of ['a', 'b', 'c']) await rawRequest(edge.port, { path: `/shop/items/${id}` });
    await rawRequest(edge.port, { path: '/shop/slow' });
    await rawRequest(edge.port, { path: '/shop/nothing-here' });
    await rawRequest(edge.port, { path: '/shop/down' });
    const text = (await rawRequest(edge.managementPort, { path: '/metrics' })).body.toString();

    const line = (re: RegExp) => text.split('\n').find((l) => re.test(l));
    const count = (re: RegExp) => Number(line(re)?.split(' ').pop());
    expect(count(/^turnpike_requests_total\{.*route="GET \/items\/\{id\}",status_class="2XX"/)).toBeGreaterThanOrEqual(3);
    expect(count(/^turnpike_requests_total\{.*route="-",status_class="4XX"/)).toBeGreaterThanOrEqual(1);
    expect(count(/^turnpike_requests_total\{.*route="GET \/down",status_class="5XX"/)).toBeGreaterThanOrEqual(1);
    expect(line(/^turnpike_request_latency_ms_bucket\{.*route="GET \/slow"/)).toBeTruthy();
    // The slow route's integration took >= 30 ms: nothing in the buckets up to 25 ms, and it is counted.
    expect(count(/^turnpike_integration_latency_ms_bucket\{.*route="GET \/slow".*le="25"\}/)).toBe(0);
    expect(count(/^turnpike_integration_latency_ms_bucket\{.*route="GET \/slow".*le="\+Inf"\}/)).toBe(1);
    expect(count(/^turnpike_integration_latency_ms_sum\{.*route="GET \/slow"/)).toBeGreaterThanOrEqual(25);
    expect(text).not.toMatch(/items\/a|nothing-here/);
    // Process figures.
    expect(line(/^turnpike_heap_used_bytes/)).toBeTruthy();
    expect(line(/^turnpike_event_loop_delay_ms.*quantile="p99"/)).toBeTruthy();
    expect(count(/^turnpike_upstream_sockets/)).toBeGreaterThanOrEqual(1);
    expect(line(/^turnpike_redis_command_latency_ms_count\{.*command="/)).toBeTruthy();
  });

  it('writes one JSON access-log line per request in the configured $context format, with no secrets', async () => {
    const secret = 'Bearer very-secret-token';
    const apiKey = 'key-0123456789abcdef';
    const ok = await rawRequest(edge.port, { path: '/shop/items/9', headers: { authorization: secret, 'x-api-key': apiKey, 'user-agent': 'tester "quoted" \\ \t end' } });
    const bad = await rawRequest(edge.port, { path: '/shop/down' });
    const okId = ok.headers['x-amzn-requestid'] as string;
    const badId = bad.headers['x-amzn-requestid'] as string;

    const lines = await waitForLines(join(dir, 'access.log'), [okId, badId]);
    const entries = lines.map((l) => JSON.parse(l) as Record<string, string>);
    const okLine = entries.find((e) => e.id === okId)!;
    expect(okLine).toMatchObject({ ip: '127.0.0.1', method: 'GET', route: 'GET /items/{id}', resource: '/items/{id}', path: '/shop/items/9', status: '200', principal: '-', err: '-', conn: '-', ua: 'tester "quoted" \\ \t end' });
    expect(Number(okLine.len)).toBe(ok.body.length);
    expect(Number(okLine.latency)).toBeGreaterThanOrEqual(Number(okLine.ilatency));
    expect(okLine.time).toMatch(/^\d{2}\/[A-Z][a-z]{2}\/\d{4}:\d{2}:\d{2}:\d{2} \+0000$/);
    const badLine = entries.find((e) => e.id === badId)!;
    expect(badLine).toMatchObject({ status: '502', route: 'GET /down' });
    expect(badLine.err).toMatch(/upstream error: ECONNREFUSED/);

    const all = readFileSync(join(dir, 'access.log'), 'utf8');
    expect(all).not.toContain('very-secret-token');
    expect(all).not.toContain(apiKey);
  });
});

describe('OTLP export from a turnpike edge process', () => {
  it('pushes spans and metrics through the process\'s NodeSDK to the endpoint named by OTEL_EXPORTER_OTLP_ENDPOINT', async () => {
    // A stand-in OpenTelemetry collector: records what each OTLP/HTTP path receives.
    const received: Record<string, string[]> = {};
    let arrived: () => void = () => {};
    const both = new Promise<void>((resolve) => (arrived = resolve));
    const collector = createServer((req, res) => {
      let body = '';
      req.on('data', (c: Buffer) => (body += c.toString()));
      req.on('end', () => {
        (received[req.url!] ??= []).push(body);
        if (received['/v1/traces'] && received['/v1/metrics']?.some((b) => b.includes('turnpike_requests'))) arrived();
        res.writeHead(200, { 'content-type': 'application/json' }).end('{}');
      });
    });
    await new Promise<void>((resolve) => collector.listen(0, '127.0.0.1', resolve));
    const dir = mkdtempSync(join(tmpdir(), 'tp-otlp-'));
    const file = join(dir, 'turnpike.yaml');
    writeFileSync(file, 'gateway:\n  tracing: { sampleRatio: 1 }\napis:\n  - name: otlp\n    routes:\n      GET /hello: { integration: { type: mock, body: hi } }\n');
    const prefix = testPrefix('otlp');
    const edge = await spawnTurnpike(['edge', '--config', file, '--port', '0', '--management-port=-1', '--redis', SHARED_REDIS_URL, '--key-prefix', prefix], {
      env: {
        OTEL_EXPORTER_OTLP_ENDPOINT: `http://127.0.0.1:${(collector.address() as AddressInfo).port}`,
        OTEL_EXPORTER_OTLP_PROTOCOL: 'http/json',
        OTEL_METRIC_EXPORT_INTERVAL: '300',
        OTEL_BSP_SCHEDULE_DELAY: '100',
        OTEL_SERVICE_NAME: 'edge-under-test',
      },
    });
    try {
      const r = await rawRequest(edge.info.port as number, { path: '/hello' });
      expect(r.status).toBe(200);
      await Promise.race([both, new Promise((_, reject) => setTimeout(() => reject(new Error(`collector got only ${Object.keys(received).join(', ')}`)), 10_000))]);
      const traces = received['/v1/traces']?.join('\n');
      expect(traces).toContain('GET /hello');
      expect(traces).toContain(r.headers['x-amzn-requestid'] as string);
      expect(traces).toContain('edge-under-test');
      // Started by NodeSDK: its resource detectors (OTEL_SERVICE_NAME above, the process) name the source.
      expect(traces).toContain('"process.pid"');
      expect(received['/v1/metrics']?.join('\n')).toContain('GET /hello');
    } finally {
      await edge.stop();
      collector.close();
      await deletePrefix(SHARED_REDIS_URL, prefix);
    }
  });
});

describe('monitoring configuration', () => {
  it('refuses unknown access-log variables and $context.identity.apiKey, naming the field', () => {
    const yaml = (format: string) => `gateway:\n  accessLog:\n    format: '${format}'\napis:\n  - name: a\n    routes:\n      GET /x: { integration: { type: mock } }\n`;
    let err: unknown;
    try {
      parseConfig(yaml('{"a":"$context.requestId","b":"$context.nope","c":"$context.identity.apiKey","d":"$context.authorizer.tenant"}'), 'log.yaml');
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(ConfigError);
    const issues = (err as ConfigError).issues;
    expect(issues.map((i) => i.path)).toEqual(['gateway.accessLog.format', 'gateway.accessLog.format']);
    expect(issues[0]?.line).toBe(3);
    expect(issues.map((i) => i.message).join('\n')).toMatch(/unknown access-log variable \$context\.nope[\s\S]*identity\.apiKey would write API key values/);
  });

  it('collects metrics only when something can read them: a management listener or the caller\'s providers', async () => {
    const config = parseConfig('apis:\n  - name: a\n    routes:\n      GET /x: { integration: { type: mock } }\n');
    const base = { config, port: 0, host: '127.0.0.1', redisUrl: SHARED_REDIS_URL, keyPrefix: testPrefix('metrics-read'), logger: pino({ level: 'silent' }) };
    const unread = new Edge({ ...base, managementPort: -1 });
    const served = new Edge({ ...base, managementPort: 0 });
    const exported = new Edge({ ...base, managementPort: -1, telemetry: { providers: localTelemetry({ serviceName: 'test' }) } });
    try {
      expect(unread.telemetry.metrics).toBeNull();
      expect(unread.telemetry.prometheus).toBeUndefined();
      expect(served.telemetry.metrics).not.toBeNull();
      expect(exported.telemetry.metrics).not.toBeNull();
    } finally {
      await Promise.all([unread, served, exported].map((e) => e.stop(0)));
    }
  });

  it('refuses a sample ratio outside 0..1', () => {
    expect(() => parseConfig('gateway:\n  tracing: { sampleRatio: 2 }\napis:\n  - name: a\n    routes:\n      GET /x: { integration: { type: mock } }\n')).toThrow(/gateway\.tracing\.sampleRatio/);
  });
});


/** The access log is flushed asynchronously (at most 200 ms later): poll with a deadline. */
async function waitForLines(file: string, ids: string[]): Promise<string[]> {
  const deadline = Date.now() + 5000;
  for (;;) {
    let text = '';
    try {
      text = readFileSync(file, 'utf8');
    } catch {
      /* not created yet */
    }
    if (ids.every((id) => text.includes(id))) return text.split('\n').filter(Boolean);
    if (Date.now() > deadline) throw new Error(`access log lacks ${ids.join(', ')}:\n${text}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}
