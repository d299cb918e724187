import { parsePrometheusText } from './prometheusText.js';

/** Cumulative counts of one edge (or their sum, or a difference of two scrapes). */
export interface Traffic {
  requests: number;
  r4xx: number;
  r5xx: number;
  throttled: number;
  cacheHits: number;
  cacheMisses: number;
  /** Cumulative latency histogram: `le` boundary (ms) → count, as exposed. */
  latency: Map<number, number>;
}

/** One edge's scrape: the whole node, and each API/stage side (`api\tstage\tcanary`) for canary comparisons. */
export interface EdgeScrape {
  readonly total: Traffic;
  readonly sides: Map<string, Traffic>;
  /** A gauge, not a counter: summed across nodes as is. */
  readonly wsConnections: number;
}

export const emptyTraffic = (): Traffic => ({ requests: 0, r4xx: 0, r5xx: 0, throttled: 0, cacheHits: 0, cacheMisses: 0, latency: new Map() });

const PREFIXES = ['turnpike_requests_total', 'turnpike_request_latency_ms_bucket', 'turnpike_throttled_requests_total', 'turnpike_authorizer_cache_', 'turnpike_websocket_connections'];

export const sideKey = (api: string, stage: string, canary: boolean) => `${api}\t${stage}\t${canary ? 'canary' : 'main'}`;

export function readEdgeMetrics(text: string): EdgeScrape {
  const total = emptyTraffic();
  const sides = new Map<string, Traffic>();
  let wsConnections = 0;
  for (const s of parsePrometheusText(text, PREFIXES)) {
    if (s.name === 'turnpike_websocket_connections') {
      wsConnections += s.value;
      continue;
    }
    const key = sideKey(s.labels.api ?? '', s.labels.stage ?? '', s.labels.canary === 'true');
    let side = sides.get(key);
    if (!side) sides.set(key, (side = emptyTraffic()));
    for (const t of [total, side]) {
      switch (s.name) {
        case 'turnpike_requests_total':
          t.requests += s.value;
          if (s.labels.status_class === '4XX') t.r4xx += s.value;
          else if (s.labels.status_class === '5XX') t.r5xx += s.value;
          break;
        case 'turnpike_request_latency_ms_bucket': {
          const le = s.labels.le === '+Inf' ? Infinity : Number(s.labels.le);
          t.latency.set(le, (t.latency.get(le) ?? 0) + s.value);
          break;
        }
        case 'turnpike_throttled_requests_total':
          t.throttled += s.value;
          break;
        case 'turnpike_authorizer_cache_hits_total':
          t.cacheHits += s.value;
          break;
        case 'turnpike_authorizer_cache_misses_total':
          t.cacheMisses += s.value;
          break;
      }
    }
  }
  return { total, sides, wsConnections };
}

/** `now - before`; a counter that went down means the node restarted, and `now` is all that is known since. */
export function difference(now: Traffic, before: Traffic | undefined): Traffic {
  if (!before || now.requests < before.requests) return now;
  const latency = new Map<number, number>();
  for (const [le, c] of now.latency) latency.set(le, c - (before.latency.get(le) ?? 0));
  return {
    requests: now.requests - before.requests,
    r4xx: now.r4xx - before.r4xx,
    r5xx: now.r5xx - before.r5xx,
    throttled: Math.max(0, now.throttled - before.throttled),
    cacheHits: Math.max(0, now.cacheHits - before.cacheHits),
    cacheMisses: Math.max(0, now.cacheMisses - before.cacheMisses),
    latency,
  };
}

/** Adds `b` into `a`. */
export function addInto(a: Traffic, b: Traffic): Traffic {
  a.requests += b.requests;
  a.r4xx += b.r4xx;
  a.r5xx += b.r5xx;
  a.throttled += b.throttled;
  a.cacheHits += b.cacheHits;
  a.cacheMisses += b.cacheMisses;
  for (const [le, c] of b.latency) a.latency.set(le, (a.latency.get(le) ?? 0) + c);
  return a;
}

/**
 * The q-quantile (0..1) of a cumulative histogram, interpolated linearly inside its bucket as
 * Prometheus' histogram_quantile does; null with no observations. Past the last finite bound: that bound.
 */
export function quantile(latency: Map<number, number>, q: number): number | null {
  const bounds = [...latency.keys()].sort((a, b) => a - b);
  const top = bounds.at(-1);
  const total = latency.get(Infinity) ?? (top === undefined ? 0 : (latency.get(top) ?? 0));
  if (!total) return null;
  const rank = q * total;
  let prevBound = 0;
  let prevCount = 0;
  for (const le of bounds) {
    const c = latency.get(le)!;
    if (c >= rank) {
      if (le === Infinity) return prevBound;
      return c === prevCount ? le : prevBound + ((le - prevBound) * (rank - prevCount)) / (c - prevCount);
    }
    prevBound = le;
    prevCount = c;
  }
  return prevBound;
}
