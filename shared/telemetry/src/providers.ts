import type { MeterProvider, TracerProvider } from '@opentelemetry/api';
import { PrometheusExporter, PrometheusSerializer } from '@opentelemetry/exporter-prometheus';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { MeterProvider as SdkMeterProvider } from '@opentelemetry/sdk-metrics';
import { AlwaysOnSampler, BasicTracerProvider, ParentBasedSampler, type SpanProcessor } from '@opentelemetry/sdk-trace-base';
import { RequestSeriesProducer } from './metrics/requestSeries.js';

/**
 * What a service reports through. A process entry point builds one set per process
 * (`@turnpike/telemetry/sdk`: OpenTelemetry's NodeSDK, exporters chosen by the OTEL_* variables) and
 * passes it to the services it runs; a service given none (tests, a program embedding an edge) builds a
 * private one with `localTelemetry`. Services use only the set they hold, never OpenTelemetry's global
 * providers, so several can run in one process, each with its own.
 */
export interface TelemetryProviders {
  readonly meterProvider: MeterProvider;
  /** The per-request series (requestSeries.ts), which every metric reader of `meterProvider` collects. */
  readonly requestSeries: RequestSeriesProducer;
  /** The Prometheus text exposition of what `meterProvider` collects: the management listener's /metrics. */
  prometheusText(): Promise<string>;
  /** Null when spans would have nowhere to go: tracing stays off and costs nothing. */
  readonly tracerProvider: TracerProvider | null;
  /** Exports what is buffered and stops; called by whoever built the set, after its services stopped. */
  shutdown(): Promise<void>;
}

/**
 * The Prometheus reader of a set: a pull reader without a server of its own (the edge's management
 * listener serves it), which also collects the request series.
 */
export function prometheusPull(requestSeries: RequestSeriesProducer): { reader: PrometheusExporter; text: () => Promise<string> } {
  const reader = new PrometheusExporter({ preventServerStart: true, metricProducers: [requestSeries] });
  const serializer = new PrometheusSerializer();
  return {
    reader,
    async text() {
      const { resourceMetrics, errors } = await reader.collect();
      if (errors.length) throw new AggregateError(errors, 'metric collection failed');
      return serializer.serialize(resourceMetrics);
    },
  };
}

/** Spans are sampled by RequestTracer before they are asked for; the provider only follows the parent. */
export const FOLLOW_PARENT = new ParentBasedSampler({ root: new AlwaysOnSampler() });

/**
 * A private set: Prometheus only, and spans to `spanProcessors` when given (tests pass an in-memory
 * exporter's). Nothing is registered globally and nothing is pushed anywhere.
 */
export function localTelemetry(opts: { serviceName: string; spanProcessors?: SpanProcessor[] }): TelemetryProviders {
  const resource = resourceFromAttributes({ 'service.name': opts.serviceName });
  const requestSeries = new RequestSeriesProducer();
  const prometheus = prometheusPull(requestSeries);
  const meterProvider = new SdkMeterProvider({ resource, readers: [prometheus.reader] });
  const tracerProvider = opts.spanProcessors?.length ? new BasicTracerProvider({ resource, sampler: FOLLOW_PARENT, spanProcessors: opts.spanProcessors }) : null;
  return {
    meterProvider,
    requestSeries,
    prometheusText: prometheus.text,
    tracerProvider,
    async shutdown() {
      await Promise.all([meterProvider.shutdown(), tracerProvider?.shutdown()]).catch(() => {});
    },
  };
}
