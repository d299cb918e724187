import { html } from 'htm/preact';
import { useState } from 'preact/hooks';
import { ApiFailure, call, seg, type Issue } from '../api.js';
import { Empty, ErrorBox, Loading, Status, fmt, useAction, useLoad } from '../ui.js';

interface RouteDef {
  integration?: { type?: string; uri?: string; function?: string };
  authorizer?: string;
  authorizationType?: string;
  apiKeyRequired?: boolean;
  throttle?: { rateLimit?: number; burstLimit?: number };
}
interface ApiRecord {
  name: string;
  version: number;
  updatedAt: string;
  updatedBy: string;
  definition: { type?: string; basePath?: string; routes?: Record<string, RouteDef> };
}

export function Apis({ selected, select }: { selected: string | null; select: (api: string | null) => void }) {
  const list = useLoad(() => call<{ apis: ApiRecord[] }>('GET', '/v1/apis'), []);
  const apis = list.data?.apis ?? [];
  const current = apis.find((a) => a.name === selected) ?? null;
  return html`<section aria-labelledby="h-apis">
    <h1 id="h-apis">APIs</h1>
    <${ErrorBox} error=${list.error} />
    <div class="split">
      <nav aria-label="APIs" class="list">
        ${list.loading ? html`<${Loading} />` : null}
        ${!list.loading && apis.length === 0 ? html`<${Empty}>No API yet. Import an OpenAPI document below, or <code>turnpike apis put --file FILE</code>.</${Empty}>` : null}
        <ul>
          ${apis.map((a) => html`<li><button class=${a.name === selected ? 'link active' : 'link'} aria-current=${a.name === selected ? 'true' : undefined} onClick=${() => select(a.name)}>${a.name}</button></li>`)}
        </ul>
      </nav>
      <div class="detail">${current ? html`<${ApiRoutes} api=${current} />` : apis.length ? html`<${Empty}>Choose an API to see its routes.</${Empty}>` : null}</div>
    </div>
    <${Import} onImported=${(name: string) => (void list.reload(), select(name))} />
  </section>`;
}

function ApiRoutes({ api }: { api: ApiRecord }) {
  const routes = Object.entries(api.definition.routes ?? {});
  const exportJson = () => {
    const blob = new Blob([JSON.stringify({ definition: api.definition }, null, 2)], { type: 'application/json' });
    const a = document.createElement('a');
    a.href = URL.createObjectURL(blob);
    a.download = `${api.name}.turnpike.json`;
    a.click();
    setTimeout(() => URL.revokeObjectURL(a.href), 1000);
  };
  return html`<div>
    <h2>${api.name} <span class="muted">version ${api.version}, ${api.definition.type ?? 'rest'}${api.definition.basePath ? `, ${api.definition.basePath}` : ''}</span></h2>
    <p class="hint">Changed ${fmt.time(api.updatedAt)} by ${api.updatedBy}. Edits are deployed from Stages.
      <button onClick=${exportJson}>Export definition (JSON)</button></p>
    ${routes.length === 0
      ? html`<${Empty}>This API has no routes.</${Empty}>`
      : html`<table>
          <thead><tr><th scope="col">Route</th><th scope="col">Integration</th><th scope="col">Authorizer</th><th scope="col">API key</th><th scope="col">Throttle</th></tr></thead>
          <tbody>
            ${routes.map(([k, r]) => html`<tr>
              <th scope="row"><code>${k}</code></th>
              <td>${r.integration?.type ?? '—'} <span class="muted">${r.integration?.uri ?? r.integration?.function ?? ''}</span></td>
              <td>${r.authorizer ?? r.authorizationType ?? 'none'}</td>
              <td>${r.apiKeyRequired ? 'required' : 'no'}</td>
              <td>${r.throttle ? `${r.throttle.rateLimit ?? '—'}/s, burst ${r.throttle.burstLimit ?? '—'}` : 'stage default'}</td>
            </tr>`)}
          </tbody>
        </table>`}
  </div>`;
}

/** Upload an OpenAPI 3 / Swagger export (YAML or JSON); problems are listed at their line of the file. */
function Import({ onImported }: { onImported: (name: string) => void }) {
  const [name, setName] = useState('');
  const [file, setFile] = useState<{ name: string; text: string } | null>(null);
  const [issues, setIssues] = useState<Issue[]>([]);
  const action = useAction();
  const submit = (e: Event) => {
    e.preventDefault();
    setIssues([]);
    void action.run(async () => {
      if (!name) throw new Error('Name the API.');
      if (!file) throw new Error('Choose a file.');
      try {
        await call('PUT', `/v1/apis/${seg(name)}`, { openapi: file.text });
      } catch (err) {
        if (err instanceof ApiFailure && err.issues.length) {
          setIssues(err.issues);
          throw new Error(`${file.name} has ${err.issues.length} problem(s); nothing was changed.`);
        }
        throw err;
      }
      onImported(name);
      return `Imported ${file.name} as ${name}. Deploy it from Stages.`;
    });
  };
  const lines = file?.text.split('\n') ?? [];
  return html`<form class="panel" onSubmit=${submit} aria-labelledby="h-import">
    <h2 id="h-import">Import an OpenAPI document</h2>
    <p class="hint">An OpenAPI 3 export with <code>x-amazon-apigateway-*</code> extensions, YAML or JSON. It replaces the API's definition; nothing is served until it is deployed.</p>
    <div class="row">
      <label>API name <input name="api" value=${name} onInput=${(e: Event) => setName((e.target as HTMLInputElement).value)} required pattern="[A-Za-z0-9_.\\-]{1,128}" /></label>
      <label>File <input type="file" name="file" accept=".yaml,.yml,.json" onChange=${async (e: Event) => {
        const f = (e.target as HTMLInputElement).files?.[0];
        setIssues([]);
        setFile(f ? { name: f.name, text: await f.text() } : null);
        if (f && !name) setName(f.name.replace(/\.(ya?ml|json)$/i, '').replace(/[^A-Za-z0-9_.-]/g, '-'));
      }} /></label>
      <button type="submit" disabled=${action.busy}>Import</button>
    </div>
    <${Status} a=${action} />
    ${issues.length
      ? html`<ol class="issues" aria-label="Problems in the file">
          ${issues.map((i) => html`<li data-testid="import-issue">
            ${i.line ? html`<strong>line ${i.line}</strong>: ` : ''}<code>${i.path.replace(/^openapi\.?/, '') || '(root)'}</code>: ${i.message}
            ${i.line && lines[i.line - 1] !== undefined ? html`<pre class="excerpt">${i.line} | ${lines[i.line - 1]}</pre>` : null}
          </li>`)}
        </ol>`
      : null}
  </form>`;
}
