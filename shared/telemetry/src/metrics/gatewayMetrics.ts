import { monitorEventLoopDelay, type IntervalHistogram } from 'node:perf_hooks';
import { getHeapStatistics } from 'node:v8';
import type { Attributes, BatchObservableCallback, Counter, Histogram, Meter, Observable, ObservableCallback, ObservableGauge, UpDownCounter } from '@opentelemetry/api';
import { RequestSeries, type RequestSeriesProducer } from './requestSeries.js';
import type { TelemetryProviders } from '../providers.js';

/**
 * The figures API Gateway publishes to CloudWatch, as OpenTelemetry instruments, plus the gateway
 * process's own, made on the meter provider it is given (providers.ts): read by Prometheus from the
 * management listener's /metrics, and pushed by whatever readers the process entry point configured
 * (OTLP when the OTEL_* variables ask for it).
 *
 * Cardinality is bounded by construction: the only per-request labels are the API id, the stage name,
 * the route template (`GET /pets/{id}`, never a raw path) and the status class; callers pass those
 * through `labels()`, which hands out the cached series of each combination, so recording a request
 * allocates nothing and hashes nothing (see requestSeries.ts). The per-request counters (authorizer
 * cache, throttled, WebSocket messages) are plain numbers on those cached labels, read by observable
 * counters at collection time: an SDK counter's `add` hashes its attributes on every call (~1 µs).
 */

/** One API + stage + route: its attributes, and `byStatusClass[n]` the series for status `nXX`. */
export interface RouteLabels {
  readonly base: Attributes;
  readonly byStatusClass: readonly RequestSeries[];
  readonly counts: RouteCounts;
}

/** Cumulative per-route counts, exported by the observable counters of the same names. */
export interface RouteCounts {
  authorizerCacheHits: number;
  authorizerCacheMisses: number;
  throttled: number;
  webSocketMessages: number;
}

/** Which RouteCounts field each observable counter reports. */
const COUNTED = ['authorizerCacheHits', 'authorizerCacheMisses', 'throttled', 'webSocketMessages'] as const satisfies readonly (keyof RouteCounts)[];

export interface GatewayMetricsOptions {
  /** Where instruments are made and request series registered (the resource names the service). */
  providers: Pick<TelemetryProviders, 'meterProvider' | 'requestSeries'>;
  /** Open sockets to upstreams right now, read at collection time. */
  upstreamSockets?: () => number;
}

/** The sampling timer's own interval is part of what monitorEventLoopDelay records; it is taken off. */
const LOOP_RESOLUTION_MS = 10;
const loopDelayMs = (ns: number) => Math.max(0, ns / 1e6 - LOOP_RESOLUTION_MS);
const RELOAD_OK = Object.freeze({ result: 'ok' });
const RELOAD_FAILED = Object.freeze({ result: 'failed' });
const REGISTER = Object.freeze({ op: 'register' });
const UNREGISTER = Object.freeze({ op: 'unregister' });
const REDIS_BUCKETS_MS = [0.25, 0.5, 1, 2, 5, 10, 25, 50, 100, 250, 1000];

export class GatewayMetrics {
  private readonly meter: Meter;
  private readonly loopDelay: IntervalHistogram;
  private readonly cache = new Map<string, Map<string, Map<string, RouteLabels>>>();
  private readonly series: RequestSeriesProducer;
  /** This instance's series and callbacks: a shared provider outlives it (shutdown takes them off). */
  private readonly ownSeries = new Set<RequestSeries>();
  private readonly revisionGauge: ObservableGauge;
  private readonly revisionCallback: ObservableCallback;
  private readonly processCallback: BatchObservableCallback;
  private readonly processGauges: Observable[];
  /** One observable counter per COUNTED field, in that order, and the callback that reads them all. */
  private readonly routeCounters: Observable[];
  private readonly routeCountsCallback: BatchObservableCallback;
  private readonly wsConnects: Counter;
  private readonly wsConnections: UpDownCounter;
  private readonly wsIntegrationErrors: Counter;
  private readonly wsClientErrors: Counter;
  private readonly wsRegistryWriteFailures: Counter;
  private readonly wsLimitCloses: Counter;
  private readonly redisLatency: Histogram;
  private readonly accessLogDropped: Counter;
  private readonly controlReloads: Counter;
  private controlServedRevision = -1;

  constructor(opts: GatewayMetricsOptions) {
    this.series = opts.providers.requestSeries;
    const meter = (this.meter = opts.providers.meterProvider.getMeter('turnpike'));

    const routeCounters = [
      meter.createObservableCounter('turnpike_authorizer_cache_hits', { description: 'Authorizer decisions served from the policy cache' }),
      meter.createObservableCounter('turnpike_authorizer_cache_misses', { description: 'Authorizer decisions that ran the authorizer' }),
      meter.createObservableCounter('turnpike_throttled_requests', { description: 'Requests refused with 429 by throttling or usage-plan quotas' }),
      meter.createObservableCounter('turnpike_websocket_messages', { description: 'WebSocket messages received from clients' }),
    ];
    this.routeCounters = routeCounters;
    this.routeCountsCallback = (r) => {
      for (const byStage of this.cache.values()) {
        for (const byRoute of byStage.values()) {
          for (const l of byRoute.values()) {
            // A route that never counted one is left out, as an SDK counter never added to is.
            for (let i = 0; i < COUNTED.length; i++) {
              const n = l.counts[COUNTED[i]!];
              if (n > 0) r.observe(routeCounters[i]!, n, l.base);
            }
          }
        }
      }
    };
    meter.addBatchObservableCallback(this.routeCountsCallback, routeCounters);
    this.wsConnects = meter.createCounter('turnpike_websocket_connects', { description: 'WebSocket connections accepted' });
    this.wsConnections = meter.createUpDownCounter('turnpike_websocket_connections', { description: 'WebSocket connections open on this node' });
    this.wsIntegrationErrors = meter.createCounter('turnpike_websocket_integration_errors', { description: 'WebSocket route integrations that failed' });
    this.wsClientErrors = meter.createCounter('turnpike_websocket_client_errors', { description: 'WebSocket frames or handshakes refused for the client\'s fault' });
    this.wsRegistryWriteFailures = meter.createCounter('turnpike_websocket_registry_write_failures', { description: 'Failed writes of WebSocket connections to the registry (each is retried)' });
    this.wsLimitCloses = meter.createCounter('turnpike_websocket_limit_closes', { description: 'WebSocket connections closed (1008) for passing a per-connection limit' });
    this.redisLatency = meter.createHistogram('turnpike_redis_command_latency_ms', {
      unit: 'ms',
      description: 'Redis round trips made by this process, by command',
      advice: { explicitBucketBoundaries: REDIS_BUCKETS_MS },
    });
    this.accessLogDropped = meter.createCounter('turnpike_access_log_dropped', { description: 'Access-log lines dropped because the destination could not keep up' });
    this.controlReloads = meter.createCounter('turnpike_control_reloads', { description: 'Control-plane revisions this edge compiled, by result (ok, failed: the previous routes kept serving)' });
    this.revisionGauge = meter.createObservableGauge('turnpike_control_revision', { description: 'The control-plane revision this edge serves (-1: none yet)' });
    this.revisionCallback = (r) => {
      if (this.controlServedRevision >= 0) r.observe(this.controlServedRevision);
    };
    this.revisionGauge.addCallback(this.revisionCallback);

    // Sampled between collections; reset after each so every scrape reports its own interval.
    this.loopDelay = monitorEventLoopDelay({ resolution: LOOP_RESOLUTION_MS });
    this.loopDelay.enable();
    const delay = meter.createObservableGauge('turnpike_event_loop_delay_ms', { unit: 'ms', description: 'Event-loop delay over the last collection interval' });
    const heap = meter.createObservableGauge('turnpike_heap_used_bytes', { unit: 'By', description: 'V8 heap in use' });
    const heapTotal = meter.createObservableGauge('turnpike_heap_size_bytes', { unit: 'By', description: 'V8 heap reserved' });
    const sockets = meter.createObservableGauge('turnpike_upstream_sockets', { description: 'Open keep-alive and active sockets to HTTP upstreams' });
    const P50 = { quantile: 'p50' };
    const P99 = { quantile: 'p99' };
    const MAX = { quantile: 'max' };
    this.processGauges = [delay, heap, heapTotal, sockets];
    this.processCallback = (r) => {
      const h = this.loopDelay;
      if (h.count > 0) {
        r.observe(delay, loopDelayMs(h.percentile(50)), P50);
        r.observe(delay, loopDelayMs(h.percentile(99)), P99);
        r.observe(delay, loopDelayMs(h.max), MAX);
      }
      h.reset();
      const s = getHeapStatistics();
      r.observe(heap, s.used_heap_size);
      r.observe(heapTotal, s.total_heap_size);
      if (opts.upstreamSockets) r.observe(sockets, opts.upstreamSockets());
    };
    meter.addBatchObservableCallback(this.processCallback, this.processGauges);
  }

  /**
   * The cached attribute objects for one API, stage and route template (`-` before routing). Canary
   * requests (docs/versions.md) carry `canary="true"` so the two sides of a stage compare side by side.
   */
  labels(apiId: string, stage: string, route: string, canary = false): RouteLabels {
    let byStage = this.cache.get(apiId);
    if (byStage === undefined) this.cache.set(apiId, (byStage = new Map()));
    // A stage name never contains a space, so the canary side cannot collide with a real stage.
    const stageKey = canary ? stage + ' canary' : stage;
    let byRoute = byStage.get(stageKey);
    if (byRoute === undefined) byStage.set(stageKey, (byRoute = new Map()));
    let l = byRoute.get(route);
    if (l === undefined) {
      const base = Object.freeze(canary ? { api: apiId, stage, route, canary: 'true' } : { api: apiId, stage, route });
      const byStatusClass = [0, 1, 2, 3, 4, 5].map((c) => new RequestSeries(Object.freeze({ ...base, status_class: `${c}XX` })));
      for (const s of byStatusClass) {
        this.series.add(s);
        this.ownSeries.add(s);
      }
      byRoute.set(route, (l = { base, byStatusClass, counts: { authorizerCacheHits: 0, authorizerCacheMisses: 0, throttled: 0, webSocketMessages: 0 } }));
    }
    return l;
  }

  /** One finished request; `integrationMs` < 0 when no integration answered. */
  request(l: RouteLabels, status: number, latencyMs: number, integrationMs: number): void {
    l.byStatusClass[status >= 100 && status < 600 ? (status / 100) | 0 : 0]?.record(latencyMs, integrationMs);
  }

  authorizerCache(l: RouteLabels, hit: boolean): void {
    if (hit) l.counts.authorizerCacheHits++;
    else l.counts.authorizerCacheMisses++;
  }

  throttled(l: RouteLabels): void {
    l.counts.throttled++;
  }

  webSocketConnected(l: RouteLabels): void {
    this.wsConnects.add(1, l.base);
    this.wsConnections.add(1, l.base);
  }

  webSocketDisconnected(l: RouteLabels): void {
    this.wsConnections.add(-1, l.base);
  }

  webSocketMessage(l: RouteLabels): void {
    l.counts.webSocketMessages++;
  }

  webSocketIntegrationError(l: RouteLabels): void {
    this.wsIntegrationErrors.add(1, l.base);
  }

  webSocketClientError(l: RouteLabels): void {
    this.wsClientErrors.add(1, l.base);
  }

  /** `op` is `register` or `unregister`. */
  webSocketRegistryWriteFailure(op: 'register' | 'unregister'): void {
    this.wsRegistryWriteFailures.add(1, op === 'register' ? REGISTER : UNREGISTER);
  }

  /** `limit` comes from a closed set: `message_rate` or `pending_bytes`. */
  webSocketLimitClose(l: RouteLabels, limit: 'message_rate' | 'pending_bytes'): void {
    this.wsLimitCloses.add(1, { ...l.base, limit });
  }

  /** `command` must come from a closed set (command names), never from request data. */
  redisCommand(command: Attributes, ms: number): void {
    this.redisLatency.record(ms, command);
  }

  /** A control-plane revision compiled and served, or refused with the previous one kept (docs/versions.md). */
  controlReload(revision: number, ok: boolean): void {
    this.controlReloads.add(1, ok ? RELOAD_OK : RELOAD_FAILED);
    if (ok) this.controlServedRevision = revision;
  }

  accessLogLinesDropped(n: number): void {
    this.accessLogDropped.add(n);
  }

  /** Takes this instance's series and callbacks off the providers, which their owner shuts down. */
  shutdown(): void {
    this.loopDelay.disable();
    this.meter.removeBatchObservableCallback(this.processCallback, this.processGauges);
    this.meter.removeBatchObservableCallback(this.routeCountsCallback, this.routeCounters);
    this.revisionGauge.removeCallback(this.revisionCallback);
    this.series.remove(this.ownSeries);
  }
}
