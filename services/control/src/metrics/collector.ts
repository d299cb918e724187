import type { Logger } from 'pino';
import type { NodeHeartbeats } from '@turnpike/redis';
import { addInto, difference, emptyTraffic, quantile, readEdgeMetrics, sideKey, type EdgeScrape, type Traffic } from './traffic.js';

/** One point of the Overview charts: the whole fleet over one scrape interval. */
export interface FleetSample {
  /** End of the interval (ms since the epoch). */
  readonly t: number;
  readonly edges: number;
  readonly rps: number;
  readonly p50: number | null;
  readonly p99: number | null;
  readonly r4xx: number;
  readonly r5xx: number;
  readonly throttled: number;
  /** Authorizer policy-cache hits / decisions in the interval; null when no authorizer ran. */
  readonly cacheHitRate: number | null;
  readonly wsConnections: number;
}

/** One side (main or canary) of a stage over the last window. */
export interface SideSummary {
  readonly requests: number;
  readonly rps: number;
  readonly errorRate: number | null;
  readonly r4xxRate: number | null;
  readonly p50: number | null;
  readonly p99: number | null;
}

interface SideDelta {
  readonly t: number;
  readonly sides: Map<string, Traffic>;
}

export interface CollectorOptions {
  readonly nodes: NodeHeartbeats;
  readonly logger: Logger;
  /** Scrape interval (default 1 s). */
  readonly intervalMs?: number;
  /** Samples kept (default one hour's worth). */
  readonly keepMs?: number;
  readonly scrapeTimeoutMs?: number;
}

/**
 * Scrapes every live edge's /metrics (the management URL from its heartbeat) every interval, and keeps
 * the fleet's rates for the last hour in memory: the control service is one process, and a restart
 * losing an hour of charts is acceptable where Prometheus keeps the history that matters. Counter
 * differences are taken per node, so an edge joining, leaving or restarting never shows as a spike.
 */
export class MetricsCollector {
  readonly intervalMs: number;
  private readonly keep: number;
  private readonly samples: FleetSample[] = [];
  private readonly sideDeltas: SideDelta[] = [];
  private readonly last = new Map<string, { at: number; scrape: EdgeScrape }>();
  private timer: NodeJS.Timeout | null = null;
  private running: Promise<void> | null = null;

  constructor(private readonly opts: CollectorOptions) {
    this.intervalMs = opts.intervalMs ?? 1_000;
    this.keep = Math.ceil((opts.keepMs ?? 3_600_000) / this.intervalMs);
  }

  start(): this {
    this.timer = setInterval(() => {
      this.running ??= this.collect().finally(() => (this.running = null));
    }, this.intervalMs).unref();
    return this;
  }

  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    await this.running;
  }

  /** Samples newer than `since` (ms). */
  since(since: number): FleetSample[] {
    return this.samples.slice(this.samples.findLastIndex((s) => s.t <= since) + 1);
  }

  /** A stage's main and canary sides over the last `windowMs`. */
  stage(api: string, stage: string, windowMs: number): { windowMs: number; main: SideSummary; canary: SideSummary } {
    const from = Date.now() - windowMs;
    const main = emptyTraffic();
    const canary = emptyTraffic();
    const mainKey = sideKey(api, stage, false);
    const canaryKey = sideKey(api, stage, true);
    for (const d of this.sideDeltas) {
      if (d.t <= from) continue;
      const m = d.sides.get(mainKey);
      const c = d.sides.get(canaryKey);
      if (m) addInto(main, m);
      if (c) addInto(canary, c);
    }
    return { windowMs, main: summary(main, windowMs), canary: summary(canary, windowMs) };
  }

  /** One scrape of every edge (the timer calls it; tests may too). */
  async collect(): Promise<void> {
    const nodes = await this.opts.nodes.list().catch((err: unknown) => {
      this.opts.logger.warn({ err }, 'metrics: cannot list nodes');
      return [];
    });
    const edges = nodes.filter((n) => n.kind === 'edge' && n.managementUrl);
    const scrapes = await Promise.all(edges.map(async (n) => ({ id: n.id, scrape: await this.scrape(n.managementUrl!) })));
    const now = Date.now();
    const total = emptyTraffic();
    const sides = new Map<string, Traffic>();
    let wsConnections = 0;
    let seconds = 0;
    const seen = new Set<string>();
    for (const { id, scrape } of scrapes) {
      if (!scrape) continue;
      seen.add(id);
      wsConnections += scrape.wsConnections;
      const prev = this.last.get(id);
      this.last.set(id, { at: now, scrape });
      // A node's first scrape is its baseline: its counters hold everything since it started.
      if (!prev) continue;
      seconds = Math.max(seconds, (now - prev.at) / 1000);
      addInto(total, difference(scrape.total, prev.scrape.total));
      for (const [k, t] of scrape.sides) {
        const d = difference(t, prev.scrape.sides.get(k));
        if (d.requests > 0) sides.set(k, addInto(sides.get(k) ?? emptyTraffic(), d));
      }
    }
    for (const id of this.last.keys()) if (!seen.has(id)) this.last.delete(id);
    if (seconds === 0) seconds = this.intervalMs / 1000;
    const decisions = total.cacheHits + total.cacheMisses;
    this.push(this.samples, {
      t: now,
      edges: seen.size,
      rps: round(total.requests / seconds),
      p50: roundOrNull(quantile(total.latency, 0.5)),
      p99: roundOrNull(quantile(total.latency, 0.99)),
      r4xx: round(total.r4xx / seconds),
      r5xx: round(total.r5xx / seconds),
      throttled: round(total.throttled / seconds),
      cacheHitRate: decisions ? round(total.cacheHits / decisions) : null,
      wsConnections,
    });
    this.push(this.sideDeltas, { t: now, sides });
  }

  private push<T>(ring: T[], item: T): void {
    ring.push(item);
    if (ring.length > this.keep) ring.splice(0, ring.length - this.keep);
  }

  private async scrape(managementUrl: string): Promise<EdgeScrape | null> {
    try {
      const res = await fetch(`${managementUrl}/metrics`, { signal: AbortSignal.timeout(this.opts.scrapeTimeoutMs ?? 800) });
      if (!res.ok) return null;
      return readEdgeMetrics(await res.text());
    } catch (err) {
      this.opts.logger.debug({ err, managementUrl }, 'metrics: scrape failed');
      return null;
    }
  }
}

function summary(t: Traffic, windowMs: number): SideSummary {
  return {
    requests: t.requests,
    rps: round(t.requests / (windowMs / 1000)),
    errorRate: t.requests ? round(t.r5xx / t.requests) : null,
    r4xxRate: t.requests ? round(t.r4xx / t.requests) : null,
    p50: roundOrNull(quantile(t.latency, 0.5)),
    p99: roundOrNull(quantile(t.latency, 0.99)),
  };
}

const round = (n: number) => Math.round(n * 1000) / 1000;
const roundOrNull = (n: number | null) => (n === null ? null : round(n));
