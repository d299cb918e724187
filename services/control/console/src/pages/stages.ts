import { html } from 'htm/preact';
import { useState } from 'preact/hooks';
import { call, seg } from '../api.js';
import { Empty, ErrorBox, Loading, Status, fmt, shortId, useAction, useLoad } from '../ui.js';

interface Stage {
  name: string;
  version: number;
  deploymentId: string;
  canary: { deploymentId: string; percent: number } | null;
  updatedAt: string;
  updatedBy: string;
}
interface Deployment {
  id: string;
  description: string;
  createdAt: string;
  createdBy: string;
}
interface HistoryEntry {
  version: number;
  action: string;
  deploymentId: string;
  canaryDeploymentId: string | null;
  at: string;
  by: string;
}
interface Side {
  requests: number;
  rps: number;
  errorRate: number | null;
  p50: number | null;
  p99: number | null;
}

export function Stages({ api, select }: { api: string | null; select: (api: string | null) => void }) {
  const apis = useLoad(() => call<{ apis: { name: string }[] }>('GET', '/v1/apis'), []);
  const names = apis.data?.apis.map((a) => a.name) ?? [];
  const current = api && names.includes(api) ? api : null;
  return html`<section aria-labelledby="h-stages">
    <h1 id="h-stages">Stages and deployments</h1>
    <${ErrorBox} error=${apis.error} />
    ${apis.loading ? html`<${Loading} />` : null}
    ${!apis.loading && names.length === 0 ? html`<${Empty}>No API yet: import one on the APIs page first.</${Empty}>` : null}
    ${names.length
      ? html`<label>API <select value=${current ?? ''} onChange=${(e: Event) => select((e.target as HTMLSelectElement).value || null)}>
          <option value="">Choose…</option>
          ${names.map((n) => html`<option value=${n}>${n}</option>`)}
        </select></label>`
      : null}
    ${current ? html`<${ApiStages} key=${current} api=${current} />` : null}
  </section>`;
}

function ApiStages({ api }: { api: string }) {
  const stages = useLoad(() => call<{ stages: Stage[] }>('GET', `/v1/apis/${seg(api)}/stages`), [api], 5_000);
  const deployments = useLoad(() => call<{ deployments: Deployment[] }>('GET', `/v1/apis/${seg(api)}/deployments`), [api]);
  const [open, setOpen] = useState<string | null>(null);
  const reload = () => Promise.all([stages.reload(), deployments.reload()]);
  const list = stages.data?.stages ?? [];
  const deps = deployments.data?.deployments ?? [];
  const openStage = list.find((s) => s.name === open) ?? null;
  return html`<div>
    <${ErrorBox} error=${stages.error ?? deployments.error} />
    <${Deploy} api=${api} stages=${list} onDone=${reload} />
    <h2>Stages</h2>
    ${list.length === 0 && !stages.loading ? html`<${Empty}>No stage yet: deploy above to create one.</${Empty}>` : null}
    ${list.length
      ? html`<table>
          <thead><tr><th scope="col">Stage</th><th scope="col">Deployment</th><th scope="col">Canary</th><th scope="col">Changed</th><th scope="col"><span class="sr-only">Actions</span></th></tr></thead>
          <tbody>${list.map((s) => html`<tr data-testid=${`stage-${s.name}`}>
            <th scope="row">${s.name}</th>
            <td data-testid="stage-deployment">${shortId(s.deploymentId)}</td>
            <td>${s.canary ? html`${s.canary.percent} % → ${shortId(s.canary.deploymentId)}` : 'none'}</td>
            <td>${fmt.time(s.updatedAt)} <span class="muted">by ${s.updatedBy}</span></td>
            <td><button onClick=${() => setOpen(open === s.name ? null : s.name)} aria-expanded=${open === s.name}>${open === s.name ? 'Close' : 'Manage'}</button></td>
          </tr>`)}</tbody>
        </table>`
      : null}
    ${openStage ? html`<${StageDetail} key=${openStage.name} api=${api} stage=${openStage} deployments=${deps} onDone=${reload} />` : null}
    <h2>Deployments</h2>
    ${deps.length === 0 && !deployments.loading ? html`<${Empty}>No deployment yet.</${Empty}>` : null}
    ${deps.length
      ? html`<table>
          <thead><tr><th scope="col">Id</th><th scope="col">Description</th><th scope="col">Created</th></tr></thead>
          <tbody>${deps.map((d) => html`<tr><td>${shortId(d.id)}</td><td>${d.description || html`<span class="muted">—</span>`}</td><td>${fmt.time(d.createdAt)} <span class="muted">by ${d.createdBy}</span></td></tr>`)}</tbody>
        </table>`
      : null}
    ${deps.length > 1 ? html`<${Diff} api=${api} deployments=${deps} />` : null}
  </div>`;
}

function Deploy({ api, stages, onDone }: { api: string; stages: Stage[]; onDone: () => Promise<unknown> }) {
  const [stage, setStage] = useState(stages[0]?.name ?? 'prod');
  const [description, setDescription] = useState('');
  const a = useAction();
  return html`<form class="panel" onSubmit=${(e: Event) => {
    e.preventDefault();
    void a.run(async () => {
      const r = await call<{ deployment: Deployment }>('POST', `/v1/apis/${seg(api)}/deployments`, { stage, description: description || undefined });
      await onDone();
      return `Deployed ${r.deployment.id.slice(0, 8)} to ${stage}. Edges follow within a second.`;
    });
  }}>
    <h2>Deploy the current definition</h2>
    <div class="row">
      <label>Stage <input name="stage" list="stage-names" value=${stage} onInput=${(e: Event) => setStage((e.target as HTMLInputElement).value)} required /></label>
      <datalist id="stage-names">${stages.map((s) => html`<option value=${s.name} />`)}</datalist>
      <label>Description <input name="description" value=${description} onInput=${(e: Event) => setDescription((e.target as HTMLInputElement).value)} /></label>
      <button type="submit" disabled=${a.busy}>Deploy</button>
    </div>
    <${Status} a=${a} />
  </form>`;
}

function StageDetail({ api, stage, deployments, onDone }: { api: string; stage: Stage; deployments: Deployment[]; onDone: () => Promise<unknown> }) {
  const base = `/v1/apis/${seg(api)}/stages/${seg(stage.name)}`;
  const history = useLoad(() => call<{ history: HistoryEntry[] }>('GET', `${base}/history`), [base, stage.version]);
  const metrics = useLoad(() => call<{ main: Side; canary: Side }>('GET', `${base}/metrics?window=60`), [base], 2_000);
  const others = deployments.filter((d) => d.id !== stage.deploymentId);
  const [canaryDep, setCanaryDep] = useState(others[0]?.id ?? '');
  const [percent, setPercent] = useState(10);
  const a = useAction();
  const act = (f: () => Promise<string>) => a.run(async () => {
    const note = await f();
    await onDone();
    return note;
  });
  const side = (label: string, s: Side | undefined) => html`<tr><th scope="row">${label}</th><td>${fmt.num(s?.requests, 0)}</td><td>${fmt.num(s?.rps)}</td><td data-testid=${`${label}-errors`}>${fmt.pct(s?.errorRate)}</td><td>${fmt.ms(s?.p50)}</td><td>${fmt.ms(s?.p99)}</td></tr>`;
  return html`<div class="panel" aria-label=${`Stage ${stage.name}`}>
    <h2>Stage ${stage.name}</h2>
    <div class="row">
      <button onClick=${() => act(async () => {
        const s = await call<Stage>('POST', `${base}/rollback`, {});
        return `Rolled back: ${stage.name} serves ${s.deploymentId.slice(0, 8)}.`;
      })} disabled=${a.busy}>Roll back to the previous deployment</button>
    </div>
    <h3>Canary</h3>
    ${stage.canary
      ? html`<p>${stage.canary.percent} % of requests go to ${shortId(stage.canary.deploymentId)}.</p>
          <div class="row">
            <button onClick=${() => act(async () => (await call('POST', `${base}/canary/promote`, {}), 'Canary promoted: it is the stage deployment now.'))} disabled=${a.busy}>Promote canary</button>
            <button class="danger" onClick=${() => act(async () => (await call('DELETE', `${base}/canary`), 'Canary deleted.'))} disabled=${a.busy}>Delete canary</button>
          </div>`
      : others.length
        ? html`<form class="row" onSubmit=${(e: Event) => {
            e.preventDefault();
            void act(async () => (await call('PUT', `${base}/canary`, { deploymentId: canaryDep, percent }), `Canary created: ${percent} % to ${canaryDep.slice(0, 8)}.`));
          }}>
            <label>Deployment <select name="canaryDeployment" value=${canaryDep} onChange=${(e: Event) => setCanaryDep((e.target as HTMLSelectElement).value)}>
              ${others.map((d) => html`<option value=${d.id}>${d.id.slice(0, 8)} ${d.description}</option>`)}
            </select></label>
            <label>Percent <input name="percent" type="number" min="0" max="100" step="0.1" value=${percent} onInput=${(e: Event) => setPercent(Number((e.target as HTMLInputElement).value))} /></label>
            <button type="submit" disabled=${a.busy}>Create canary</button>
          </form>`
        : html`<${Empty}>A canary needs another deployment of this API: deploy a change first.</${Empty}>`}
    <${Status} a=${a} />
    <h3>Main and canary, last minute</h3>
    <${ErrorBox} error=${metrics.error} />
    <table class="compact">
      <thead><tr><th scope="col">Side</th><th scope="col">Requests</th><th scope="col">Req/s</th><th scope="col">5XX rate</th><th scope="col">p50</th><th scope="col">p99</th></tr></thead>
      <tbody>${side('main', metrics.data?.main)}${side('canary', metrics.data?.canary)}</tbody>
    </table>
    <h3>History</h3>
    ${history.data?.history.length
      ? html`<table class="compact"><thead><tr><th scope="col">Version</th><th scope="col">Action</th><th scope="col">Deployment</th><th scope="col">Canary</th><th scope="col">When</th></tr></thead>
          <tbody>${history.data.history.map((h) => html`<tr><td>${h.version}</td><td>${h.action}</td><td>${shortId(h.deploymentId)}</td><td>${shortId(h.canaryDeploymentId)}</td><td>${fmt.time(h.at)} <span class="muted">by ${h.by}</span></td></tr>`)}</tbody></table>`
      : html`<${Empty}>No history.</${Empty}>`}
  </div>`;
}

interface Change {
  path: string;
  change: 'added' | 'removed' | 'changed';
  from?: unknown;
  to?: unknown;
}

const show = (v: unknown) => (v === undefined ? '' : JSON.stringify(v));

function Diff({ api, deployments }: { api: string; deployments: Deployment[] }) {
  const [from, setFrom] = useState(deployments[1]?.id ?? '');
  const [to, setTo] = useState(deployments[0]?.id ?? '');
  const [changes, setChanges] = useState<Change[] | null>(null);
  const a = useAction();
  const pick = (value: string, set: (v: string) => void, label: string) => html`<label>${label} <select value=${value} onChange=${(e: Event) => set((e.target as HTMLSelectElement).value)}>
    ${deployments.map((d) => html`<option value=${d.id}>${d.id.slice(0, 8)} ${d.description}</option>`)}
  </select></label>`;
  return html`<form class="panel" onSubmit=${(e: Event) => {
    e.preventDefault();
    void a.run(async () => setChanges((await call<{ changes: Change[] }>('GET', `/v1/apis/${seg(api)}/deployments/${seg(from)}/diff/${seg(to)}`)).changes));
  }}>
    <h2>Compare two deployments</h2>
    <div class="row">${pick(from, setFrom, 'From')}${pick(to, setTo, 'To')}<button type="submit" disabled=${a.busy}>Diff</button></div>
    <${Status} a=${a} />
    ${changes === null ? null : changes.length === 0 ? html`<${Empty}>The two deployments serve the same routes.</${Empty}>` : html`<ul class="diff" data-testid="diff">${changes.map((c) => html`<li class=${c.change}><strong>${c.change}</strong> <code>${c.path}</code> ${c.change === 'changed' ? html`<code>${show(c.from)}</code> → <code>${show(c.to)}</code>` : html`<code>${show(c.change === 'added' ? c.to : c.from)}</code>`}</li>`)}</ul>`}
  </form>`;
}
