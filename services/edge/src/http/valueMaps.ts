import { titleCaseHeader } from './headerCase.js';

/**
 * API Gateway's two views of repeated request headers and query parameters, used by every event it
 * builds (Lambda proxy 1.0, authorizer REQUEST, WebSocket): `single` keeps the last value of a name,
 * `multi` keeps every value in order.
 */
export interface ValueMaps {
  single: Record<string, string>;
  multi: Record<string, string[]>;
}

/**
 * From a flat name/value header list (names lowercased, as uWS gives them), with the names in
 * Title-Case as REST APIs deliver them (http/headerCase.ts).
 */
export function headerMaps(raw: readonly string[]): ValueMaps {
  const single: Record<string, string> = {};
  const multi: Record<string, string[]> = {};
  for (let i = 0; i < raw.length; i += 2) {
    const lower = raw[i];
    const value = raw[i + 1];
    if (lower === undefined || value === undefined) break; // a name without a value: the list has ended
    const name = titleCaseHeader(lower);
    single[name] = value;
    const list = multi[name];
    if (list === undefined) multi[name] = [value];
    else list.push(value);
  }
  return { single, multi };
}

/** From a raw query string (without `?`); null when it has no parameter. */
export function queryMaps(query: string): ValueMaps | null {
  if (!query) return null;
  const single: Record<string, string> = {};
  const multi: Record<string, string[]> = {};
  let any = false;
  for (const [k, v] of new URLSearchParams(query)) {
    any = true;
    single[k] = v;
    const list = multi[k];
    if (list === undefined) multi[k] = [v];
    else list.push(v);
  }
  return any ? { single, multi } : null;
}

/**
 * Payload 2.0's view (HTTP APIs): repeated headers and query parameters joined with commas, and cookies
 * moved out of the headers into a list, one entry per cookie.
 */
export interface JoinedMaps {
  headers: Record<string, string>;
  cookies: string[] | undefined;
  query: Record<string, string> | undefined;
}

export function joinedMaps(raw: readonly string[], query: string): JoinedMaps {
  const headers: Record<string, string> = {};
  let cookies: string[] | undefined;
  for (let i = 0; i < raw.length; i += 2) {
    const name = raw[i];
    const value = raw[i + 1];
    if (name === undefined || value === undefined) break; // a name without a value: the list has ended
    if (name === 'cookie') {
      cookies ??= [];
      for (const c of value.split(';')) {
        const t = c.trim();
        if (t) cookies.push(t);
      }
      continue;
    }
    const prev = headers[name];
    headers[name] = prev === undefined ? value : `${prev},${value}`;
  }
  let joined: Record<string, string> | undefined;
  if (query) {
    for (const [k, v] of new URLSearchParams(query)) {
      joined ??= {};
      const prev = joined[k];
      joined[k] = prev === undefined ? v : `${prev},${v}`;
    }
  }
  return { headers, cookies, query: joined };
}
