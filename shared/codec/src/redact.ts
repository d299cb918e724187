import { isObj, type Obj } from './plainObject.js';
/**
 * Credentials in a stored invocation event. An asynchronous invocation keeps its whole event in Redis
 * while it may still run (queued, running, waiting for a retry): the handler must see on a retry what it
 * saw the first time, as Lambda's retries do. Once it is dead-lettered nothing will run it again until an
 * operator replays it, and the caller's credentials have no business staying at rest: the worker replaces
 * them with REDACTED (docs/functions.md, "What is stored"). The request was authenticated when the edge
 * accepted it; the authorizer's verdict (`requestContext.authorizer`) stays.
 */

export const REDACTED = '[redacted]';

/** Headers that carry credentials whatever the API (compared lowercased). */
export const CREDENTIAL_HEADERS: readonly string[] = ['authorization', 'proxy-authorization', 'x-api-key', 'cookie', 'x-amz-security-token'];
/** Query parameters that commonly carry credentials (compared lowercased), SigV4 presigned URLs included. */
export const CREDENTIAL_QUERY: readonly string[] = ['access_token', 'id_token', 'token', 'api_key', 'apikey', 'x-api-key', 'x-amz-signature', 'x-amz-credential', 'x-amz-security-token'];

/** A route's own credential locations (its authorizer's identity sources), beyond the common ones. */
export interface CredentialNames {
  readonly headers: readonly string[];
  readonly query: readonly string[];
}


/**
 * A copy of a Lambda proxy event (payload format 1.0 or 2.0) with every credential value replaced:
 * credential headers and query parameters (single and multi-value maps, and 2.0's `rawQueryString`),
 * every cookie value, and 1.0's `requestContext.identity.apiKey`. Anything else is returned as it was.
 */
export function redactEvent(event: unknown, extra?: CredentialNames): unknown {
  if (!isObj(event)) return event;
  const headerNames = new Set([...CREDENTIAL_HEADERS, ...(extra?.headers ?? []).map((h) => h.toLowerCase())]);
  const queryNames = new Set([...CREDENTIAL_QUERY, ...(extra?.query ?? []).map((q) => q.toLowerCase())]);
  const out: Obj = { ...event };
  for (const [field, names] of [
    ['headers', headerNames],
    ['multiValueHeaders', headerNames],
    ['queryStringParameters', queryNames],
    ['multiValueQueryStringParameters', queryNames],
  ] as const) {
    const map = out[field];
    if (isObj(map)) out[field] = redactMap(map, names);
  }
  if (typeof out.rawQueryString === 'string') out.rawQueryString = redactQueryString(out.rawQueryString, queryNames);
  if (Array.isArray(out.cookies)) out.cookies = out.cookies.map((c) => (typeof c === 'string' ? `${c.split('=', 1)[0]}=${REDACTED}` : REDACTED));
  const rc = out.requestContext;
  if (isObj(rc) && isObj(rc.identity) && rc.identity.apiKey !== null && rc.identity.apiKey !== undefined) {
    out.requestContext = { ...rc, identity: { ...rc.identity, apiKey: REDACTED } };
  }
  return out;
}

function redactMap(map: Obj, names: ReadonlySet<string>): Obj {
  const out: Obj = {};
  for (const [k, v] of Object.entries(map)) out[k] = names.has(k.toLowerCase()) ? (Array.isArray(v) ? v.map(() => REDACTED) : REDACTED) : v;
  return out;
}

function redactQueryString(query: string, names: ReadonlySet<string>): string {
  if (query === '') return query;
  return query
    .split('&')
    .map((pair) => {
      const eq = pair.indexOf('=');
      const rawName = eq < 0 ? pair : pair.slice(0, eq);
      let name = rawName;
      try {
        name = decodeURIComponent(rawName.replace(/\+/g, ' '));
      } catch {
        /* a malformed escape: compare the raw name */
      }
      return names.has(name.toLowerCase()) ? `${rawName}=${encodeURIComponent(REDACTED)}` : pair;
    })
    .join('&');
}
