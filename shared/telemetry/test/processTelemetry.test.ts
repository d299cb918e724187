import { context, createContextKey, ROOT_CONTEXT, trace } from '@opentelemetry/api';
import { afterEach, describe, expect, it } from 'vitest';
import { startProcessTelemetry } from '@turnpike/telemetry/sdk';

// One process per test file (pool: forks): the SDK's global registration stays in this file.
const saved = { ...process.env };
afterEach(() => {
  for (const k of Object.keys(process.env)) if (k.startsWith('OTEL_') && !(k in saved)) delete process.env[k];
});

describe('process telemetry (NodeSDK)', () => {
  it('makes no tracer provider when no variable asks for spans', async () => {
    const t = await startProcessTelemetry({ serviceName: 'test' });
    expect(t.tracerProvider).toBeNull();
    expect(await t.prometheusText()).toContain('service_name="test"');
    await t.shutdown();
  });

  it('hands out the providers it registered, with no async context (spans are parented explicitly)', async () => {
    // Port 9 (discard) never answers: no span is made here, so nothing is sent.
    process.env.OTEL_TRACES_EXPORTER = 'otlp';
    process.env.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT = 'http://127.0.0.1:9/v1/traces';
    const t = await startProcessTelemetry({ serviceName: 'test' });
    expect(t.tracerProvider).not.toBeNull();
    expect(t.tracerProvider).toBe(trace.getTracerProvider());
    // With an AsyncLocalStorage manager the first context.with would switch on Node's async hooks for
    // every promise of the process (2x the edge's CPU per request).
    const key = createContextKey('k');
    expect(context.with(ROOT_CONTEXT.setValue(key, 1), () => context.active().getValue(key))).toBeUndefined();
    await t.shutdown();
  });
});
