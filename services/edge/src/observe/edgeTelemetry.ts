import { dirname } from 'node:path';
import type { RedisClient } from '@turnpike/redis';
import type { Logger } from 'pino';
import type { TurnpikeConfig } from '@turnpike/config';
import { AccessLogWriter, compileAccessLogFormat, GatewayMetrics, localTelemetry, RequestTracer, type RequestTrace, type TelemetryProviders } from '@turnpike/telemetry';
import type { RequestContext, RequestObserver } from '../pipeline/context.js';
import { EdgeMetrics } from '../services/metrics/edgeMetrics.js';
import { httpVariables, resolver, webSocketVariables, type WebSocketLogEvent } from './accessLogVariables.js';
import { measureRedisCommands } from '../services/metrics/redisLatency.js';

export interface TelemetryOptions {
  /**
   * The meter and tracer providers to report through: the process's (`turnpike edge` starts the
   * OpenTelemetry SDK and passes them), or a test's own. Without them the edge builds a private set:
   * Prometheus /metrics, no tracing, nothing pushed. Whoever built a set shuts it down.
   */
  providers?: TelemetryProviders;
  /** Called for every finished request after the built-in reporting. */
  observer?: RequestObserver | null;
  /**
   * False when nothing can read this edge's metrics: no management listener for /metrics and no
   * `providers` given (an exporter). Then none are collected, whatever `gateway.metrics.enabled` says:
   * no per-request recording, no event-loop delay timer. Default true.
   */
  metricsRead?: boolean;
}

/** The access log as other parts of the edge write to it (the WebSocket edge, per event). */
export interface AccessLog {
  webSocket(event: WebSocketLogEvent): void;
}

/**
 * Everything an edge node reports about itself, built from `gateway.accessLog`, `gateway.metrics` and
 * `gateway.tracing`. What is off is not built: `observer` is null when nothing needs to see finished
 * requests, `tracer` is null unless tracing is on and spans have somewhere to go.
 */
export class EdgeTelemetry {
  readonly metrics: EdgeMetrics | null;
  readonly tracer: RequestTracer | null;
  readonly accessLog: AccessLog | null;
  readonly observer: RequestObserver | null;
  private readonly writer: AccessLogWriter | null;
  private readonly providers: TelemetryProviders | null;
  /** The private set built when none was given and metrics are collected: this edge shuts it down. */
  private readonly ownProviders: TelemetryProviders | null;

  constructor(config: TurnpikeConfig, deps: { upstreamSockets: () => number; redis: RedisClient; logger: Logger }, opts: TelemetryOptions = {}) {
    const gw = config.gateway;
    const collect = gw.metrics.enabled && (opts.providers !== undefined || opts.metricsRead !== false);
    const providers = opts.providers ?? (collect ? localTelemetry({ serviceName: process.env.OTEL_SERVICE_NAME ?? 'turnpike-edge' }) : null);
    this.providers = providers;
    this.ownProviders = opts.providers ? null : providers;

    let gateway: GatewayMetrics | null = null;
    if (collect && providers !== null) {
      gateway = new GatewayMetrics({ providers, upstreamSockets: deps.upstreamSockets });
      measureRedisCommands(deps.redis, gateway);
    }
    this.metrics = gateway && new EdgeMetrics(gateway);

    this.tracer = RequestTracer.create({ ...gw.tracing, tracerProvider: providers?.tracerProvider ?? null });

    let logLine: ((ctx: RequestContext) => string) | null = null;
    if (gw.accessLog) {
      const writer = new AccessLogWriter({
        destination: gw.accessLog.destination,
        baseDir: dirname(config.file),
        onDrop: gateway ? (n) => gateway.accessLogLinesDropped(n) : undefined,
        onError: (err) => deps.logger.error({ err, destination: gw.accessLog!.destination }, 'access log: write failed'),
      });
      this.writer = writer;
      logLine = compileAccessLogFormat(gw.accessLog.format, resolver(httpVariables(gw.accountId)));
      const wsLine = compileAccessLogFormat(gw.accessLog.format, resolver(webSocketVariables(gw.accountId)));
      this.accessLog = { webSocket: (e) => writer.write(wsLine(e)) };
    } else {
      this.writer = null;
      this.accessLog = null;
    }
    this.observer = buildObserver(this.metrics, this.writer, logLine, this.tracer !== null, opts.observer ?? null);
  }

  /** Starts the request span when this request is sampled; null otherwise. */
  startTrace(ctx: RequestContext): RequestTrace | null {
    const tracer = this.tracer!;
    const parent = tracer.sample(ctx.headers.traceparent, ctx.headers.tracestate);
    if (parent === null) return null;
    return tracer.start(parent, `${ctx.method} ${ctx.api.name}`, {
      'http.request.method': ctx.method,
      'url.path': ctx.path,
      'client.address': ctx.sourceIp,
      'server.address': ctx.host,
      'turnpike.request_id': ctx.requestId,
      'turnpike.api': ctx.api.id,
      'turnpike.stage': ctx.stage.name,
    });
  }

  /** The /metrics body, when metrics are on. */
  get prometheus(): (() => Promise<string>) | undefined {
    const p = this.providers;
    return this.metrics && p ? () => p.prometheusText() : undefined;
  }

  /**
   * Flushes log lines after the last request has finished, and takes this edge's instruments off the
   * providers. Spans and metrics are flushed by the owner of the providers: the process entry point
   * after the edge stopped (bounded there), or this edge for a private set (nothing to push).
   */
  async close(): Promise<void> {
    this.metrics?.gateway.shutdown();
    await Promise.all([this.writer?.close(), this.ownProviders?.shutdown()]);
  }
}

function buildObserver(
  metrics: EdgeMetrics | null,
  writer: AccessLogWriter | null,
  logLine: ((ctx: RequestContext) => string) | null,
  tracing: boolean,
  extra: RequestObserver | null,
): RequestObserver | null {
  if (!metrics && !writer && !tracing) return extra;
  return (ctx) => {
    if (metrics !== null) metrics.request(ctx, ctx.latencyMs);
    if (writer !== null) writer.write(logLine!(ctx));
    if (ctx.trace !== null) endTrace(ctx, ctx.trace);
    if (extra !== null) extra(ctx);
  };
}

function endTrace(ctx: RequestContext, span: RequestTrace): void {
  if (ctx.route !== null) {
    span.rename(`${ctx.method} ${ctx.route.resourcePath}`);
    span.setAttribute('http.route', ctx.route.resourcePath);
  }
  span.setAttribute('turnpike.route_key', ctx.routeKey);
  if (ctx.status !== 0) span.setAttribute('http.response.status_code', ctx.status);
  if (ctx.integrationLatency >= 0) span.setAttribute('turnpike.integration_latency_ms', ctx.integrationLatency);
  if (ctx.principalId !== null) span.setAttribute('enduser.id', ctx.principalId);
  // Server spans are errors for 5XX only (OpenTelemetry HTTP conventions); a 4XX is the client's doing.
  const failed = ctx.aborted ? (ctx.errorMessage ?? 'client disconnected') : ctx.status >= 500 ? (ctx.errorMessage ?? `status ${ctx.status}`) : null;
  if (ctx.errorMessage !== null) span.setAttribute('turnpike.error', ctx.errorMessage);
  span.end(failed);
}
