import { html } from 'htm/preact';
import { useEffect, useRef, useState } from 'preact/hooks';
import { call } from '../api.js';
import { Chart } from '../chart.js';
import { Empty, ErrorBox, fmt, message } from '../ui.js';

interface Sample {
  t: number;
  edges: number;
  rps: number;
  p50: number | null;
  p99: number | null;
  r4xx: number;
  r5xx: number;
  throttled: number;
  cacheHitRate: number | null;
  wsConnections: number;
}

const POLL_MS = 1_000;
const KEEP = 3_600;

/** Live fleet numbers: polls /v1/metrics for the samples since the last one, every second. */
export function Overview() {
  const [samples, setSamples] = useState<Sample[]>([]);
  const [error, setError] = useState<string | null>(null);
  const [loaded, setLoaded] = useState(false);
  const last = useRef(0);

  useEffect(() => {
    let stopped = false;
    const poll = async () => {
      try {
        const r = await call<{ samples: Sample[] }>('GET', `/v1/metrics?since=${last.current}`);
        if (stopped) return;
        setError(null);
        setLoaded(true);
        const newest = r.samples.at(-1);
        if (newest !== undefined) {
          last.current = newest.t;
          setSamples((s) => {
            const next = s.concat(r.samples);
            return next.length > KEEP ? next.slice(next.length - KEEP) : next;
          });
        }
      } catch (err) {
        if (!stopped) setError(message(err));
      }
    };
    void poll();
    const t = setInterval(() => void poll(), POLL_MS);
    return () => {
      stopped = true;
      clearInterval(t);
    };
  }, []);

  const cur = samples[samples.length - 1];
  const x = samples.map((s) => s.t / 1000);
  const col = <K extends keyof Sample>(k: K) => samples.map((s) => s[k] as number | null);
  const tile = (id: string, label: string, value: string) => html`<div class="tile"><div class="tile-label">${label}</div><div class="tile-value" data-testid=${id}>${value}</div></div>`;

  return html`<section aria-labelledby="h-overview">
    <h1 id="h-overview">Overview</h1>
    <p class="hint">The whole fleet, from every edge's /metrics, scraped each second; the last hour is kept.${cur ? ` ${cur.edges} edge(s) reporting.` : ''}</p>
    <${ErrorBox} error=${error} />
    ${loaded && cur?.edges === 0 ? html`<${Empty}>No edge is reporting metrics. Start one with <code>turnpike edge --control</code>; it appears here within two seconds.</${Empty}>` : null}
    <div class="tiles" aria-live="polite">
      ${tile('stat-rps', 'Requests/s', fmt.num(cur?.rps))}
      ${tile('stat-p50', 'Latency p50', fmt.ms(cur?.p50))}
      ${tile('stat-p99', 'Latency p99', fmt.ms(cur?.p99))}
      ${tile('stat-4xx', '4XX/s', fmt.num(cur?.r4xx))}
      ${tile('stat-5xx', '5XX/s', fmt.num(cur?.r5xx))}
      ${tile('stat-throttled', 'Throttled/s', fmt.num(cur?.throttled))}
      ${tile('stat-cache', 'Authorizer cache hits', fmt.pct(cur?.cacheHitRate))}
      ${tile('stat-ws', 'WebSocket connections', fmt.num(cur?.wsConnections, 0))}
    </div>
    <div class="charts">
      <${Chart} title="Requests per second" x=${x} ys=${[col('rps'), col('r4xx'), col('r5xx'), col('throttled')]} series=${[
        { label: 'all', color: '#2563eb' },
        { label: '4XX', color: '#d97706' },
        { label: '5XX', color: '#dc2626' },
        { label: 'throttled', color: '#7c3aed' },
      ]} />
      <${Chart} title="Latency (ms)" x=${x} ys=${[col('p50'), col('p99')]} series=${[
        { label: 'p50', color: '#059669' },
        { label: 'p99', color: '#b45309' },
      ]} />
      <${Chart} title="WebSocket connections" x=${x} ys=${[col('wsConnections')]} series=${[{ label: 'open', color: '#0f766e' }]} />
      <${Chart} title="Authorizer cache hit rate" x=${x} ys=${[col('cacheHitRate')]} series=${[{ label: 'hit rate', color: '#4f46e5' }]} />
    </div>
  </section>`;
}
