import { html } from 'htm/preact';
import { useState } from 'preact/hooks';
import type { ConnectionList, ListedConnection } from '../../../src/adminTypes.js';
import { call, seg } from '../api.js';
import { Empty, ErrorBox, Loading, Status, fmt, useAction, useLoad } from '../ui.js';

function countBy(conns: ListedConnection[], key: (c: ListedConnection) => string): [string, number][] {
  const m = new Map<string, number>();
  for (const c of conns) m.set(key(c), (m.get(key(c)) ?? 0) + 1);
  return [...m].sort((a, b) => b[1] - a[1]);
}

export function WebSocketPage() {
  const conns = useLoad(() => call<ConnectionList>('GET', '/v1/connections'), [], 2_000);
  const list = conns.data?.connections ?? [];
  const table = (title: string, rows: [string, number][]) => html`<table class="compact"><thead><tr><th scope="col">${title}</th><th scope="col">Connections</th></tr></thead>
    <tbody>${rows.map(([k, n]) => html`<tr><td><code>${k}</code></td><td>${n}</td></tr>`)}</tbody></table>`;
  return html`<section aria-labelledby="h-ws">
    <h1 id="h-ws">WebSocket</h1>
    <p class="hint">Connections in the cluster-wide registry, refreshed every 2 s.</p>
    <div class="grid3"><${Send} connections=${list} /><${Publish} connections=${list} /></div>
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

const value = (set: (v: string) => void) => (e: Event) => set((e.target as HTMLInputElement).value);

function Send({ connections }: { connections: ListedConnection[] }) {
  const [id, setId] = useState('');
  const [data, setData] = useState('');
  const a = useAction();
  return html`<form class="panel" onSubmit=${(e: Event) => {
    e.preventDefault();
    void a.run(async () => (await call('POST', `/v1/connections/${seg(id)}/messages`, { data }), `Sent to ${id}.`));
  }}>
    <h2>Send to a connection</h2>
    <div class="row">
      <label>Connection id <input name="connectionId" list="connection-ids" value=${id} onInput=${value(setId)} required /></label>
      <datalist id="connection-ids">${connections.slice(0, 200).map((c) => html`<option value=${c.connectionId} />`)}</datalist>
      <label>Message <input name="message" value=${data} onInput=${value(setData)} required /></label>
      <button type="submit" disabled=${a.busy}>Send</button>
    </div>
    <${Status} a=${a} />
  </form>`;
}

function Publish({ connections }: { connections: ListedConnection[] }) {
  const first = connections[0];
  const [target, setTarget] = useState(first ? `${first.api}/${first.stage}` : '');
  const [topic, setTopic] = useState('');
  const [data, setData] = useState('');
  const a = useAction();
  return html`<form class="panel" onSubmit=${(e: Event) => {
    e.preventDefault();
    void a.run(async () => {
      const [api, stage] = target.split('/');
      if (!api || !stage) throw new Error('Give the API stage as api/stage.');
      const r = await call<{ nodes: number }>('POST', `/v1/apis/${seg(api)}/stages/${seg(stage)}/topics/${seg(topic)}`, { data });
      return `Published to ${topic} (${r.nodes} edge(s) listening).`;
    });
  }}>
    <h2>Publish to a topic</h2>
    <div class="row">
      <label>API stage <input name="apiStage" placeholder="chat/prod" value=${target} onInput=${value(setTarget)} required /></label>
      <label>Topic <input name="topic" value=${topic} onInput=${value(setTopic)} required /></label>
      <label>Topic message <input name="topicMessage" value=${data} onInput=${value(setData)} required /></label>
      <button type="submit" disabled=${a.busy}>Publish</button>
    </div>
    <${Status} a=${a} />
  </form>`;
}
