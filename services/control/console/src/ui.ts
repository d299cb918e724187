import { html } from 'htm/preact';
import { useCallback, useEffect, useRef, useState } from 'preact/hooks';
import { ApiFailure } from './api.js';

/** Loads `load()` now, again every `everyMs` (if given) and on `reload()`; keeps the last good value on a failed refresh. */
export function useLoad<T>(load: () => Promise<T>, deps: unknown[], everyMs?: number) {
  const [data, setData] = useState<T | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [loading, setLoading] = useState(true);
  const gen = useRef(0);
  const reload = useCallback(async () => {
    const mine = ++gen.current;
    try {
      const d = await load();
      if (mine !== gen.current) return;
      setData(d);
      setError(null);
    } catch (err) {
      if (mine === gen.current) setError(message(err));
    } finally {
      if (mine === gen.current) setLoading(false);
    }
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, deps);
  useEffect(() => {
    setLoading(true);
    setData(null);
    void reload();
    if (!everyMs) return;
    const t = setInterval(() => void reload(), everyMs);
    return () => clearInterval(t);
  }, [reload]);
  return { data, error, loading, reload };
}

export function message(err: unknown): string {
  if (err instanceof ApiFailure) return err.status ? `${err.message} (${err.status} ${err.code})` : err.message;
  return (err as Error).message ?? String(err);
}

export const ErrorBox = ({ error }: { error: string | null }) => (error ? html`<div class="error" role="alert">${error}</div>` : null);

export const Empty = ({ children }: { children: unknown }) => html`<div class="empty">${children}</div>`;

export const Loading = () => html`<div class="loading" aria-busy="true">Loading…</div>`;

/** Runs an action, showing its error (or an OK note) beside the button that started it. */
export function useAction() {
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const [note, setNote] = useState<string | null>(null);
  const run = async (f: () => Promise<string | void>) => {
    setBusy(true);
    setError(null);
    setNote(null);
    try {
      const n = await f();
      if (n) setNote(n);
    } catch (err) {
      setError(message(err));
    } finally {
      setBusy(false);
    }
  };
  return { busy, error, note, run, setError };
}

export const Status = ({ a }: { a: { error: string | null; note: string | null } }) =>
  html`${a.error ? html`<div class="error" role="alert">${a.error}</div>` : null}${a.note ? html`<div class="note" role="status">${a.note}</div>` : null}`;

export const fmt = {
  num: (n: number | null | undefined, digits = 1) => (n === null || n === undefined ? '—' : n.toLocaleString('en-US', { maximumFractionDigits: digits })),
  pct: (n: number | null | undefined) => (n === null || n === undefined ? '—' : `${(n * 100).toFixed(1)} %`),
  ms: (n: number | null | undefined) => (n === null || n === undefined ? '—' : `${n.toFixed(n < 10 ? 2 : 0)} ms`),
  bytes: (n: number) => (n >= 1 << 30 ? `${(n / (1 << 30)).toFixed(1)} GiB` : n >= 1 << 20 ? `${(n / (1 << 20)).toFixed(0)} MiB` : `${(n / 1024).toFixed(0)} KiB`),
  time: (iso: string | number) => new Date(iso).toLocaleString('en-GB', { hour12: false }),
  duration: (ms: number) => {
    const s = Math.floor(ms / 1000);
    if (s < 60) return `${s} s`;
    if (s < 3600) return `${Math.floor(s / 60)} min`;
    if (s < 86400) return `${Math.floor(s / 3600)} h ${Math.floor((s % 3600) / 60)} min`;
    return `${Math.floor(s / 86400)} d ${Math.floor((s % 86400) / 3600)} h`;
  },
};

/** A short deployment id for tables (the full one is in the title). */
export const shortId = (id: string | null | undefined) => (id ? html`<code title=${id}>${id.slice(0, 8)}</code>` : '—');
