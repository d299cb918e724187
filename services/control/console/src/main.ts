import { render } from 'preact';
import { html } from 'htm/preact';
import { useEffect, useRef, useState } from 'preact/hooks';
import { call, session, whenSignedOut } from './api.js';
import { message } from './ui.js';
import { Overview } from './pages/overview.js';
import { Apis } from './pages/apis.js';
import { Stages } from './pages/stages.js';
import { Keys } from './pages/keys.js';
import { WebSocketPage } from './pages/websocket.js';
import { Nodes } from './pages/nodes.js';
import 'uplot/dist/uPlot.min.css';
import './styles.css';

const PAGES = [
  ['overview', 'Overview'],
  ['apis', 'APIs'],
  ['stages', 'Stages and deployments'],
  ['keys', 'Keys, plans and usage'],
  ['websocket', 'WebSocket'],
  ['nodes', 'Nodes'],
] as const;
type Page = (typeof PAGES)[number][0];

/** `#/page/arg`: the page and its one argument (the API chosen). */
function readHash(): { page: Page; arg: string | null } {
  const [, page, arg] = location.hash.split('/');
  const known = PAGES.some(([p]) => p === page);
  return { page: known ? (page as Page) : 'overview', arg: arg ? decodeURIComponent(arg) : null };
}

function useHash() {
  const [route, setRoute] = useState(readHash);
  useEffect(() => {
    const on = () => setRoute(readHash());
    addEventListener('hashchange', on);
    return () => removeEventListener('hashchange', on);
  }, []);
  return route;
}

const go = (page: Page, arg: string | null = null) => (location.hash = `#/${page}${arg ? `/${encodeURIComponent(arg)}` : ''}`);

function SignIn({ onSignedIn, reason }: { onSignedIn: (who: Who) => void; reason: string | null }) {
  const [token, setToken] = useState('');
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  return html`<main class="signin">
    <form onSubmit=${async (e: Event) => {
      e.preventDefault();
      setBusy(true);
      setError(null);
      try {
        const who = await call<Who>('GET', '/v1/whoami', undefined, token.trim());
        session.set(token.trim());
        onSignedIn(who);
      } catch (err) {
        setError(message(err));
      } finally {
        setBusy(false);
      }
    }}>
      <h1>Turnpike console</h1>
      <p>Sign in with an admin token (<code>turnpike control tokens create --name NAME --scope '*'</code>). It is kept in this tab only and sent to this control service alone.</p>
      ${reason ? html`<div class="note" role="status">${reason}</div>` : null}
      <label for="token">Admin token</label>
      <input id="token" name="token" type="password" autocomplete="off" spellcheck="false" placeholder="tpa_…" value=${token} onInput=${(e: Event) => setToken((e.target as HTMLInputElement).value)} required autofocus />
      ${error ? html`<div class="error" role="alert">${error}</div>` : null}
      <button type="submit" disabled=${busy}>Sign in</button>
    </form>
  </main>`;
}

interface Who {
  name: string;
  scopes: string[];
}

function App() {
  const [who, setWho] = useState<Who | null>(null);
  const [checking, setChecking] = useState(session.token !== null);
  const [reason, setReason] = useState<string | null>(null);
  const route = useHash();
  const main = useRef<HTMLElement>(null);

  useEffect(() => {
    whenSignedOut(() => {
      session.clear();
      setWho(null);
      setReason('The session ended: the token is unknown or was revoked. Sign in again.');
    });
    if (session.token === null) return;
    call<Who>('GET', '/v1/whoami')
      .then(setWho, () => session.clear())
      .finally(() => setChecking(false));
  }, []);
  // Moving between pages puts the keyboard focus on the new page's heading.
  useEffect(() => main.current?.querySelector('h1')?.focus(), [route.page, who]);

  if (checking) return html`<div class="loading">Checking the session…</div>`;
  if (!who) return html`<${SignIn} onSignedIn=${setWho} reason=${reason} />`;
  return html`<div class="shell">
    <a class="skip" href="#main" onClick=${(e: Event) => (e.preventDefault(), main.current?.focus())}>Skip to content</a>
    <header>
      <span class="brand">Turnpike</span>
      <nav aria-label="Pages"><ul>
        ${PAGES.map(([p, label]) => html`<li><a href=${`#/${p}`} aria-current=${route.page === p ? 'page' : undefined}>${label}</a></li>`)}
      </ul></nav>
      <span class="who">${who.name} <button class="link" onClick=${() => (session.clear(), setReason('Signed out.'), setWho(null))}>Sign out</button></span>
    </header>
    <main id="main" ref=${main} tabindex="-1">
      ${route.page === 'overview' ? html`<${Overview} />` : null}
      ${route.page === 'apis' ? html`<${Apis} selected=${route.arg} select=${(a: string | null) => go('apis', a)} />` : null}
      ${route.page === 'stages' ? html`<${Stages} api=${route.arg} select=${(a: string | null) => go('stages', a)} />` : null}
      ${route.page === 'keys' ? html`<${Keys} />` : null}
      ${route.page === 'websocket' ? html`<${WebSocketPage} />` : null}
      ${route.page === 'nodes' ? html`<${Nodes} />` : null}
    </main>
  </div>`;
}

render(html`<${App} />`, document.getElementById('app')!);
