import { html } from 'htm/preact';
import { useState } from 'preact/hooks';
import { call, seg } from '../api.js';
import { Chart } from '../chart.js';
import { Empty, ErrorBox, Loading, Status, fmt, useAction, useLoad } from '../ui.js';

interface Key {
  id: string;
  name: string;
  enabled: boolean;
  createdAt: string;
  planIds: string[];
}
interface Plan {
  id: string;
  name: string;
  throttle?: { rateLimit: number; burstLimit: number };
  quota?: { limit: number; period: string };
  apiStages: { apiId: string; stage: string }[];
}
interface UsageRow {
  date: string;
  apiId: string;
  stage: string;
  calls: number;
  bytes: number;
}

const day = (d: Date) => d.toISOString().slice(0, 10);

export function Keys() {
  const keys = useLoad(() => call<{ keys: Key[] }>('GET', '/v1/keys'), []);
  const plans = useLoad(() => call<{ plans: Plan[] }>('GET', '/v1/plans'), []);
  const [usageKey, setUsageKey] = useState<string | null>(null);
  const list = keys.data?.keys ?? [];
  const planList = plans.data?.plans ?? [];
  const toggle = useAction();
  return html`<section aria-labelledby="h-keys">
    <h1 id="h-keys">Keys, plans and usage</h1>
    <${ErrorBox} error=${keys.error ?? plans.error} />
    <${CreateKey} onDone=${keys.reload} />
    <h2>API keys</h2>
    ${keys.loading ? html`<${Loading} />` : null}
    ${!keys.loading && list.length === 0 ? html`<${Empty}>No API key yet: create one above.</${Empty}>` : null}
    <${Status} a=${toggle} />
    ${list.length
      ? html`<table>
          <thead><tr><th scope="col">Name</th><th scope="col">Id</th><th scope="col">State</th><th scope="col">Plans</th><th scope="col">Created</th><th scope="col"><span class="sr-only">Actions</span></th></tr></thead>
          <tbody>${list.map((k) => html`<tr data-testid=${`key-${k.name}`}>
            <th scope="row">${k.name}</th><td><code>${k.id}</code></td>
            <td>${k.enabled ? 'enabled' : html`<span class="bad">disabled</span>`}</td>
            <td>${k.planIds.map((p) => planList.find((x) => x.id === p)?.name ?? p).join(', ') || '—'}</td>
            <td>${fmt.time(k.createdAt)}</td>
            <td class="actions">
              <button onClick=${() => toggle.run(async () => (await call('PATCH', `/v1/keys/${seg(k.id)}`, { enabled: !k.enabled }), await keys.reload(), `${k.name} ${k.enabled ? 'disabled' : 'enabled'}.`))}>${k.enabled ? 'Disable' : 'Enable'}</button>
              <button onClick=${() => setUsageKey(k.id)} aria-pressed=${usageKey === k.id}>Usage</button>
            </td>
          </tr>`)}</tbody>
        </table>`
      : null}
    ${usageKey ? html`<${Usage} key=${usageKey} keyId=${usageKey} name=${list.find((k) => k.id === usageKey)?.name ?? usageKey} />` : null}
    <h2>Usage plans</h2>
    ${!plans.loading && planList.length === 0 ? html`<${Empty}>No usage plan yet.</${Empty}>` : null}
    ${planList.length
      ? html`<table>
          <thead><tr><th scope="col">Plan</th><th scope="col">Throttle</th><th scope="col">Quota</th><th scope="col">API stages</th></tr></thead>
          <tbody>${planList.map((p) => html`<tr><th scope="row">${p.name} <span class="muted">${p.id}</span></th>
            <td>${p.throttle ? `${p.throttle.rateLimit}/s, burst ${p.throttle.burstLimit}` : '—'}</td>
            <td>${p.quota ? `${p.quota.limit} per ${p.quota.period.toLowerCase()}` : '—'}</td>
            <td>${p.apiStages.map((s) => `${s.apiId}/${s.stage}`).join(', ')}</td></tr>`)}</tbody>
        </table>`
      : null}
    <${CreatePlan} keys=${list} onDone=${() => Promise.all([plans.reload(), keys.reload()])} />
  </section>`;
}

function CreateKey({ onDone }: { onDone: () => Promise<unknown> }) {
  const [name, setName] = useState('');
  const [created, setCreated] = useState<{ name: string; value: string } | null>(null);
  const a = useAction();
  return html`<form class="panel" onSubmit=${(e: Event) => {
    e.preventDefault();
    void a.run(async () => {
      const k = await call<Key & { value: string }>('POST', '/v1/keys', { name });
      setCreated({ name: k.name, value: k.value });
      setName('');
      await onDone();
    });
  }}>
    <h2>Create an API key</h2>
    <div class="row"><label>Key name <input name="keyName" value=${name} onInput=${(e: Event) => setName((e.target as HTMLInputElement).value)} required /></label><button type="submit" disabled=${a.busy}>Create key</button></div>
    <${Status} a=${a} />
    ${created
      ? html`<div class="note" role="status">The value of <strong>${created.name}</strong>, shown this once (only its hash is stored):
          <pre class="secret" data-testid="key-value">${created.value}</pre>
          <button type="button" onClick=${() => setCreated(null)}>I have copied it</button></div>`
      : null}
  </form>`;
}

function CreatePlan({ keys, onDone }: { keys: Key[]; onDone: () => Promise<unknown> }) {
  const [f, setF] = useState({ name: '', stages: '', rate: '', burst: '', quota: '', period: 'DAY', key: '' });
  const set = (k: keyof typeof f) => (e: Event) => setF({ ...f, [k]: (e.target as HTMLInputElement).value });
  const a = useAction();
  return html`<form class="panel" onSubmit=${(e: Event) => {
    e.preventDefault();
    void a.run(async () => {
      const apiStages = f.stages.split(/[\s,]+/).filter(Boolean).map((s) => {
        const [apiId, stage] = s.split('/');
        if (!apiId || !stage) throw new Error(`"${s}" is not api/stage`);
        return { apiId, stage };
      });
      const plan = await call<Plan>('POST', '/v1/plans', {
        name: f.name,
        apiStages,
        throttle: f.rate ? { rateLimit: Number(f.rate), burstLimit: Number(f.burst || f.rate) } : undefined,
        quota: f.quota ? { limit: Number(f.quota), period: f.period } : undefined,
      });
      if (f.key) await call('POST', `/v1/plans/${seg(plan.id)}/keys`, { keyId: f.key });
      await onDone();
      return `Plan ${plan.name} created${f.key ? ' and the key attached' : ''}.`;
    });
  }}>
    <h2>Create a usage plan</h2>
    <div class="row">
      <label>Plan name <input name="planName" value=${f.name} onInput=${set('name')} required /></label>
      <label>API stages <input name="apiStages" placeholder="shop/prod, shop/beta" value=${f.stages} onInput=${set('stages')} required /></label>
      <label>Rate/s <input name="rate" type="number" min="0" value=${f.rate} onInput=${set('rate')} /></label>
      <label>Burst <input name="burst" type="number" min="0" value=${f.burst} onInput=${set('burst')} /></label>
      <label>Quota <input name="quota" type="number" min="0" value=${f.quota} onInput=${set('quota')} /></label>
      <label>per <select name="period" value=${f.period} onChange=${set('period')}><option>DAY</option><option>WEEK</option><option>MONTH</option></select></label>
      <label>Attach key <select name="attachKey" value=${f.key} onChange=${set('key')}><option value="">none</option>${keys.map((k) => html`<option value=${k.id}>${k.name}</option>`)}</select></label>
      <button type="submit" disabled=${a.busy}>Create plan</button>
    </div>
    <${Status} a=${a} />
  </form>`;
}

/** Calls per day over the last 14 days, summed over API stages, as bars. */
function Usage({ keyId, name }: { keyId: string; name: string }) {
  const to = new Date();
  const from = new Date(to.getTime() - 13 * 86_400_000);
  const usage = useLoad(() => call<{ usage: UsageRow[] }>('GET', `/v1/usage?keyId=${seg(keyId)}&from=${day(from)}&to=${day(to)}`), [keyId], 5_000);
  const days: string[] = [];
  for (let t = from.getTime(); t <= to.getTime() + 1; t += 86_400_000) days.push(day(new Date(t)));
  const calls = days.map((d) => (usage.data?.usage ?? []).filter((u) => u.date === d).reduce((n, u) => n + u.calls, 0));
  const total = calls.reduce((a, b) => a + b, 0);
  return html`<div class="panel" aria-label=${`Usage of ${name}`}>
    <h2>Usage of ${name}, last 14 days: <span data-testid="usage-total">${fmt.num(total, 0)}</span> calls</h2>
    <${ErrorBox} error=${usage.error} />
    ${usage.data && total === 0 ? html`<${Empty}>No calls with this key in the last 14 days.</${Empty}>` : null}
    <${Chart} title="Calls per day" x=${days.map((d) => Date.parse(`${d}T00:00:00Z`) / 1000)} ys=${[calls]} series=${[{ label: 'calls', color: '#2563eb', bars: true }]} height=${200} />
    ${usage.data?.usage.length
      ? html`<table class="compact"><thead><tr><th scope="col">Day</th><th scope="col">API stage</th><th scope="col">Calls</th><th scope="col">Bytes</th></tr></thead>
          <tbody>${usage.data.usage.map((u) => html`<tr><td>${u.date}</td><td>${u.apiId}/${u.stage}</td><td>${u.calls}</td><td>${u.bytes}</td></tr>`)}</tbody></table>`
      : null}
  </div>`;
}
