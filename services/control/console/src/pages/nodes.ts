import { html } from 'htm/preact';
import { call } from '../api.js';
import { Empty, ErrorBox, Loading, fmt, useLoad } from '../ui.js';

interface NodeReport {
  id: string;
  kind: 'edge' | 'worker';
  version: string;
  host: string;
  pid: number;
  startedAt: number;
  at: number;
  revision: number;
  cpuPercent: number;
  rssBytes: number;
  heapUsedBytes: number;
  connections: number;
  ready: boolean;
  readiness: string;
}

export function Nodes() {
  const nodes = useLoad(() => call<{ nodes: NodeReport[] }>('GET', '/v1/nodes'), [], 2_000);
  const revision = useLoad(() => call<{ revision: number }>('GET', '/v1/revision'), [], 2_000);
  const list = nodes.data?.nodes ?? [];
  return html`<section aria-labelledby="h-nodes">
    <h1 id="h-nodes">Nodes</h1>
    <p class="hint">Every edge and worker writes a heartbeat to Redis every 2 s; one silent for three is left out. Control-plane revision: <strong data-testid="revision">${revision.data?.revision ?? '—'}</strong>.</p>
    <${ErrorBox} error=${nodes.error} />
    ${nodes.loading ? html`<${Loading} />` : null}
    ${nodes.data && list.length === 0 ? html`<${Empty}>No node is running: start <code>turnpike edge --control</code> or <code>turnpike worker</code>.</${Empty}>` : null}
    ${list.length
      ? html`<table>
          <thead><tr><th scope="col">Node</th><th scope="col">Kind</th><th scope="col">Version</th><th scope="col">Revision served</th><th scope="col">Uptime</th><th scope="col">CPU</th><th scope="col">Memory (RSS)</th><th scope="col">WebSockets</th><th scope="col">Ready</th></tr></thead>
          <tbody>${list.map((n) => html`<tr data-testid=${`node-${n.kind}`}>
            <th scope="row"><code title=${n.id}>${n.id.slice(0, 8)}</code> <span class="muted">${n.host} pid ${n.pid}</span></th>
            <td>${n.kind}</td><td>${n.version}</td>
            <td data-testid="node-revision">${n.kind === 'edge' ? (n.revision < 0 ? 'none' : n.revision) : '—'}</td>
            <td>${fmt.duration(n.at - n.startedAt)}</td>
            <td>${n.cpuPercent.toFixed(1)} %</td>
            <td>${fmt.bytes(n.rssBytes)}</td>
            <td>${n.kind === 'edge' ? n.connections : '—'}</td>
            <td title=${n.readiness}>${n.ready ? 'ready' : html`<span class="bad">not ready</span>`} <span class="muted">${n.readiness}</span></td>
          </tr>`)}</tbody>
        </table>`
      : null}
  </section>`;
}
