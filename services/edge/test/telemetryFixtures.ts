import pino from 'pino';
import { SimpleSpanProcessor, type InMemorySpanExporter, type ReadableSpan } from '@opentelemetry/sdk-trace-base';
import type { TurnpikeConfig } from '@turnpike/config';
import { Edge } from '@turnpike/edge';
import { localTelemetry } from '@turnpike/telemetry';
import { SHARED_REDIS_URL } from '@turnpike/testing';

/**
 * An in-process edge on the test's own providers (never OpenTelemetry's globals): spans go to `spans`,
 * exported one by one as each ends.
 */
export function startTracedEdge(config: TurnpikeConfig, keyPrefix: string, spans: InMemorySpanExporter): Promise<Edge> {
  return new Edge({
    config,
    port: 0,
    host: '127.0.0.1',
    managementPort: 0,
    redisUrl: SHARED_REDIS_URL,
    keyPrefix,
    logger: pino({ level: 'silent' }),
    telemetry: { providers: localTelemetry({ serviceName: 'turnpike-edge', spanProcessors: [new SimpleSpanProcessor(spans)] }) },
  }).start();
}

/** Waits (bounded) for `n` finished spans: the request span ends just after the response is sent. */
export async function waitForSpans(exporter: InMemorySpanExporter, n: number): Promise<ReadableSpan[]> {
  const deadline = Date.now() + 5000;
  while (exporter.getFinishedSpans().length < n) {
    if (Date.now() > deadline) throw new Error(`expected ${n} spans, got ${exporter.getFinishedSpans().map((s) => s.name).join(', ') || 'none'}`);
    await new Promise((r) => setTimeout(r, 10));
  }
  return exporter.getFinishedSpans();
}
