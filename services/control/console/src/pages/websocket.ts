import { html } from 'htm/preact';
import { call } from '../api.js';
import { Empty, ErrorBox, Loading, fmt, useLoad } from '../ui.js';

interface Conn {
  connectionId: string;
  node: string;
  api: string;
  stage: string;
  connectedAt: number;
  sourceIp: string;
}

function countBy(conns: Conn[], key: (c: Conn) => string): [string, number][] {
  const m = new Map<string, number>();
  for (const c of conns) m.set(key(c), (m.get(key(c)) ?? 0) + 1);
  return [...m].sort((a, b) => b[1] - a[1]);
}

export function WebSocketPage() {
  const conns = useLoad(() => call<{ connections: Conn[]; truncated: boolean }>('GET', '/v1/connections'), [], 2_000);
  const list = conns.data?.connections ?? [];
  const table = (title: string, rows: [string, number][]) => html`<table class="compact"><thead><tr><th scope="col">${title}</th><th scope="col">Connections</th></tr></thead>
    <tbody>${rows.map(([k, n]) => html`<tr><td><code>${k}</code></td><td>${n}</td></tr>`)}</tbody></table>`;
  return html`<section aria-labelledby="h-ws">
    <h1 id="h-ws">WebSocket</h1>
    <p class="hint">Connections in the cluster-wide registry, refreshed every 2 s. To send to a connection or publish to a topic, use <code>@connections</code> and <code>@topics</code> on the edges (docs/websocket.md).</p>
    <${ErrorBox} error=${conns.error} />
    ${conns.loading ? html`<${Loading} />` : null}
    ${conns.data && list.length === 0 ? html`<${Empty}>No WebSocket connection is open.</${Empty}>` : null}
    ${list.length
      ? html`<div class="grid3">
          ${table('Node', countBy(list, (c) => c.node.slice(0, 8)))}
          ${table('API / stage', countBy(list, (c) => `${c.api}/${c.stage}`))}
        </div>
        ${conns.data?.truncated ? html`<p class="hint">Only the first ${list.length} connections are listed.</p>` : null}
        <table>
          <thead><tr><th scope="col">Connection</th><th scope="col">Node</th><th scope="col">API / stage</th><th scope="col">Source IP</th><th scope="col">Connected</th></tr></thead>
          <tbody>${list.slice(0, 200).map((c) => html`<tr><td><code>${c.connectionId}</code></td><td><code>${c.node.slice(0, 8)}</code></td><td>${c.api}/${c.stage}</td><td>${c.sourceIp}</td><td>${fmt.time(c.connectedAt)}</td></tr>`)}</tbody>
        </table>`
      : null}
  </section>`;
}
