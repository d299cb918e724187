import { diag, metrics, ROOT_CONTEXT, trace, type Context, type ContextManager } from '@opentelemetry/api';
import { getBooleanFromEnv, getNumberFromEnv, getStringFromEnv, getStringListFromEnv } from '@opentelemetry/core';
import { ConsoleMetricExporter, PeriodicExportingMetricReader, type IMetricReader, type PushMetricExporter } from '@opentelemetry/sdk-metrics';
import { localTelemetry, prometheusPull, type TelemetryProviders } from './providers.js';
import { RequestSeriesProducer } from './metrics/requestSeries.js';
import { otlpEndpointConfigured } from './otlpEnv.js';

/**
 * OpenTelemetry for one process, as the SDK intends: one NodeSDK, started by the process entry point
 * (the `turnpike edge` command), exporters and their settings chosen by the standard OTEL_* variables
 * through the SDK's own environment handling. The entry point passes the providers it returns to the
 * services it runs (they never read the global ones the SDK registers) and calls `shutdown` after they
 * stopped. This module is its package's `./sdk` entry: only that command loads the SDK.
 *
 * Two things the variables cannot express are set here:
 * - the Prometheus pull reader served on the edge's management listener (/metrics), and the request
 *   series every metric reader collects (requestSeries.ts): a reader takes its metric producers when it
 *   is made, so the metric readers OTEL_METRICS_EXPORTER asks for are made here, the SDK's way
 *   (otlp by OTEL_EXPORTER_OTLP_METRICS_PROTOCOL, console, OTEL_METRIC_EXPORT_INTERVAL/_TIMEOUT);
 * - nothing is pushed unless asked for: with neither OTEL_{TRACES,METRICS}_EXPORTER nor an OTLP endpoint
 *   set, a signal is not exported (the SDK would otherwise push to localhost:4318 every minute), and
 *   without a trace exporter no span is made at all.
 */
export async function startProcessTelemetry(opts: { serviceName: string }): Promise<TelemetryProviders> {
  // The SDK turns itself off under OTEL_SDK_DISABLED; /metrics stays, as the config asks.
  if (getBooleanFromEnv('OTEL_SDK_DISABLED')) return localTelemetry({ serviceName: opts.serviceName });
  const requestSeries = new RequestSeriesProducer();
  const prometheus = prometheusPull(requestSeries);
  const traced = signalExported('TRACES');
  // Loaded here, not with this module: a command asks signalExported first, and an edge that starts no
  // SDK does not hold its modules (with the rest of the process telemetry, ~4 MB of heap per process).
  const { NodeSDK } = await import('@opentelemetry/sdk-node');
  const sdk = new NodeSDK({
    // OTEL_SERVICE_NAME and OTEL_RESOURCE_ATTRIBUTES are read by the SDK's resource detectors.
    ...(getStringFromEnv('OTEL_SERVICE_NAME') ? {} : { serviceName: opts.serviceName }),
    metricReaders: [prometheus.reader, ...(await pushMetricReaders(requestSeries))],
    // Spans: the SDK's own OTEL_TRACES_EXPORTER handling (otlp by protocol, zipkin, console; OTEL_BSP_*,
    // OTEL_TRACES_SAMPLER), or none at all.
    ...(traced ? {} : { spanProcessors: [] }),
    // Logs are pino's (stdout); traceparent is propagated by RequestTracer itself.
    logRecordProcessors: [],
    textMapPropagator: null,
    contextManager: new NoContextManager(),
  });
  sdk.start();
  // What start() registered, read once here: the services are handed these, never the globals.
  const tracerProvider = traced ? trace.getTracerProvider() : null;
  const meterProvider = metrics.getMeterProvider();
  return {
    meterProvider,
    requestSeries,
    prometheusText: prometheus.text,
    tracerProvider,
    shutdown: () => bounded(sdk.shutdown()),
  };
}

/**
 * No async context. Spans are parented explicitly (RequestTracer), so nothing needs one, and the SDK's
 * default (AsyncLocalStorage) would be switched on by the span processor's first `context.with`: from
 * then on Node 22 runs its async hooks for every promise of the process. Measured with the SDK's
 * default: 278 µs CPU per proxied request against 127 µs for the same edge without the SDK; with this
 * one 104 against 100 (docs/monitoring-and-cors.md, "Benchmark").
 */
class NoContextManager implements ContextManager {
  active(): Context {
    return ROOT_CONTEXT;
  }

  with<A extends unknown[], F extends (...args: A) => ReturnType<F>>(_context: Context, fn: F, thisArg?: ThisParameterType<F>, ...args: A): ReturnType<F> {
    return fn.call(thisArg, ...args);
  }

  bind<T>(_context: Context, target: T): T {
    return target;
  }

  enable(): this {
    return this;
  }

  disable(): this {
    return this;
  }
}

/** Whether OTEL_<signal>_EXPORTER names an exporter, or (unset) an OTLP endpoint is configured for the signal. */
export function signalExported(signal: 'TRACES' | 'METRICS'): boolean {
  const names = getStringListFromEnv(`OTEL_${signal}_EXPORTER`) ?? [];
  return names.length ? names[0] !== 'none' : otlpEndpointConfigured(signal);
}

async function pushMetricReaders(requestSeries: RequestSeriesProducer): Promise<IMetricReader[]> {
  if (!signalExported('METRICS')) return [];
  const names = new Set(getStringListFromEnv('OTEL_METRICS_EXPORTER') ?? ['otlp']);
  if (names.has('none')) return [];
  const interval = getNumberFromEnv('OTEL_METRIC_EXPORT_INTERVAL') ?? 60_000;
  const periodic = (exporter: PushMetricExporter) =>
    new PeriodicExportingMetricReader({ exporter, exportIntervalMillis: interval, exportTimeoutMillis: Math.min(getNumberFromEnv('OTEL_METRIC_EXPORT_TIMEOUT') ?? 30_000, interval), metricProducers: [requestSeries] });
  const readers: IMetricReader[] = [];
  for (const name of names) {
    if (name === 'otlp') readers.push(periodic(await otlpMetricExporter()));
    else if (name === 'console') readers.push(periodic(new ConsoleMetricExporter()));
    // `prometheus` is the management listener's /metrics, which is always there.
    else if (name !== 'prometheus') diag.warn(`Unsupported OTEL_METRICS_EXPORTER value: "${name}". Supported values are: otlp, console, prometheus, none.`);
  }
  return readers;
}

/** The OTLP metric exporter of the configured protocol (default http/protobuf, as the SDK's); each reads its endpoint, headers and timeout from the environment. */
async function otlpMetricExporter(): Promise<PushMetricExporter> {
  const protocol = (getStringFromEnv('OTEL_EXPORTER_OTLP_METRICS_PROTOCOL') ?? getStringFromEnv('OTEL_EXPORTER_OTLP_PROTOCOL'))?.trim() || 'http/protobuf';
  if (protocol === 'http/json') return new (await import('@opentelemetry/exporter-metrics-otlp-http')).OTLPMetricExporter();
  if (protocol === 'grpc') return new (await import('@opentelemetry/exporter-metrics-otlp-grpc')).OTLPMetricExporter();
  if (protocol !== 'http/protobuf') diag.warn(`Unsupported OTLP metrics protocol: "${protocol}". Using http/protobuf.`);
  return new (await import('@opentelemetry/exporter-metrics-otlp-proto')).OTLPMetricExporter();
}

/** An OTLP collector that does not answer may hold the last spans and metrics for at most SHUTDOWN_WAIT_MS: stopping must not wait on it. */
const SHUTDOWN_WAIT_MS = 3000;

async function bounded(done: Promise<void>): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  await Promise.race([done.catch(() => {}), new Promise<void>((resolve) => (timer = setTimeout(resolve, SHUTDOWN_WAIT_MS).unref()))]);
  clearTimeout(timer);
}
