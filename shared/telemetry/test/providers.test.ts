import { metrics } from '@opentelemetry/api';
import { describe, expect, it } from 'vitest';
import { GatewayMetrics, localTelemetry } from '@turnpike/telemetry';

describe('telemetry providers', () => {
  it('serve several GatewayMetrics on one set, each taking its request series off when it shuts down', async () => {
    const providers = localTelemetry({ serviceName: 'test' });
    const a = new GatewayMetrics({ providers });
    const b = new GatewayMetrics({ providers });
    a.request(a.labels('api-a', 'prod', 'GET /a'), 200, 3, 1);
    b.request(b.labels('api-b', 'prod', 'GET /b'), 503, 7, -1);
    const both = await providers.prometheusText();
    expect(both).toMatch(/turnpike_requests(_total)?\{api="api-a",stage="prod",route="GET \/a",status_class="2XX"[^}]*\} 1/);
    expect(both).toMatch(/turnpike_requests(_total)?\{api="api-b",stage="prod",route="GET \/b",status_class="5XX"[^}]*\} 1/);
    expect(both).toContain('turnpike_heap_used_bytes');

    b.shutdown();
    const left = await providers.prometheusText();
    expect(left).toContain('api="api-a"');
    expect(left).not.toContain('api="api-b"');
    a.shutdown();
    expect(await providers.prometheusText()).not.toContain('api="api-a"');
    await providers.shutdown();
  });

  it('export the per-route counters as cumulative counters, only for routes that counted', async () => {
    const providers = localTelemetry({ serviceName: 'test' });
    const m = new GatewayMetrics({ providers });
    const a = m.labels('api-a', 'prod', 'GET /a');
    m.labels('api-a', 'prod', 'GET /quiet');
    m.authorizerCache(a, true);
    m.authorizerCache(a, true);
    m.authorizerCache(a, false);
    m.throttled(a);
    m.webSocketMessage(m.labels('api-a', 'prod', 'sendMessage'));
    const first = await providers.prometheusText();
    expect(first).toMatch(/turnpike_authorizer_cache_hits_total\{api="api-a",stage="prod",route="GET \/a"[^}]*\} 2\n/);
    expect(first).toMatch(/turnpike_authorizer_cache_misses_total\{api="api-a",stage="prod",route="GET \/a"[^}]*\} 1\n/);
    expect(first).toMatch(/turnpike_throttled_requests_total\{api="api-a",stage="prod",route="GET \/a"[^}]*\} 1\n/);
    expect(first).toMatch(/turnpike_websocket_messages_total\{api="api-a",stage="prod",route="sendMessage"[^}]*\} 1\n/);
    expect(first).not.toContain('GET /quiet');
    // Cumulative: a second scrape adds to the first.
    m.authorizerCache(a, true);
    expect(await providers.prometheusText()).toMatch(/turnpike_authorizer_cache_hits_total\{[^}]*route="GET \/a"[^}]*\} 3\n/);
    m.shutdown();
    await providers.shutdown();
  });

  it('never register OpenTelemetry globals', () => {
    const before = metrics.getMeterProvider();
    localTelemetry({ serviceName: 'test' });
    expect(metrics.getMeterProvider()).toBe(before);
  });
});
