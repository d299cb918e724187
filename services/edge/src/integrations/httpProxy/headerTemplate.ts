import { substituteStageVariables } from '@turnpike/config';
import { RouteBuildError } from '../../router/routeTable.js';

/**
 * Configured upstream request headers and query parameters of an HTTP integration (`requestHeaders`,
 * `requestQuery`; REST proxy, mapped and WebSocket routes): stage variables are fixed per stage and
 * substituted once; `${context.authorizer.tenant}`, `${request.header.X}` and friends are read per request.
 */
export interface HeaderTemplate {
  readonly name: string;
  /** Alternating literal text and context references. */
  readonly parts: readonly string[];
}

/** What a template may read of one request or WebSocket event (RequestContext has all of it). */
export interface TemplateValues {
  readonly requestId: string;
  readonly stage: { readonly name: string };
  readonly sourceIp: string;
  readonly principalId: string | null;
  readonly authorizer: Record<string, unknown> | null;
  readonly headers: Readonly<Record<string, string>>;
  readonly params: Readonly<Record<string, string>> | null;
  readonly query: string;
}

const CONTEXT_REFS = /\$\{(context\.[A-Za-z0-9_.]+|request\.(?:header|querystring|path)\.[^}]+)\}/g;

export function compileHeader(name: string, value: string, variables: Readonly<Record<string, string>>): HeaderTemplate {
  const substituted = substituteStageVariables(value, variables);
  if (!substituted.ok) throw new RouteBuildError(`request header ${name} uses undefined stage variable(s) ${substituted.missing.join(', ')}`);
  const withVars = substituted.text;
  const parts: string[] = [];
  let last = 0;
  for (const m of withVars.matchAll(CONTEXT_REFS)) {
    const ref = m[1];
    if (ref === undefined) continue;
    if (!/^(context\.(requestId|stage|identity\.sourceIp|authorizer\.(claims\.)?[A-Za-z0-9_]+)|request\.(header|querystring|path)\.[^}]+)$/.test(ref)) {
      throw new RouteBuildError(`request parameter ${name} uses \${${ref}}; supported: context.requestId, context.stage, context.identity.sourceIp, context.authorizer.<key>, context.authorizer.claims.<claim>, request.header|querystring|path.<name>`);
    }
    parts.push(withVars.slice(last, m.index), ref.startsWith('context.') ? ref.slice(8) : ref);
    last = m.index! + m[0].length;
  }
  parts.push(withVars.slice(last));
  return { name, parts };
}

export function joinQuery(a: string, b: string): string {
  return a && b ? `${a}&${b}` : a || b;
}

/** `request.header.X` (any case), `request.querystring.X`, `request.path.X`: API Gateway's `method.request.*`. */
function requestValue(ref: string, values: TemplateValues): string | undefined {
  if (ref.startsWith('request.header.')) return values.headers[ref.slice(15).toLowerCase()];
  if (ref.startsWith('request.path.')) return values.params?.[ref.slice(13)];
  return new URLSearchParams(values.query).get(ref.slice(20)) ?? undefined;
}

/** The configured query parameters, `&`-joined and encoded; '' when none has a value. */
export function expandQuery(templates: readonly HeaderTemplate[], values: TemplateValues): string {
  let out = '';
  for (const t of templates) {
    const v = expandHeader(t, values);
    if (v) out += `${out ? '&' : ''}${encodeURIComponent(t.name)}=${encodeURIComponent(v)}`;
  }
  return out;
}

/** The value for one request; '' when a referenced value is absent (the header is then not sent). */
export function expandHeader(t: HeaderTemplate, values: TemplateValues): string {
  // literal, reference, literal, ..., literal: compileHeader always ends with a literal.
  let out = t.parts[0] ?? '';
  for (let i = 1; i < t.parts.length; i += 2) {
    const ref = t.parts[i];
    const after = t.parts[i + 1];
    if (ref === undefined || after === undefined) break;
    let v: unknown;
    if (ref.startsWith('request.')) v = requestValue(ref, values);
    else if (ref === 'requestId') v = values.requestId;
    else if (ref === 'stage') v = values.stage.name;
    else if (ref === 'identity.sourceIp') v = values.sourceIp;
    else if (ref === 'authorizer.principalId') v = values.principalId;
    // A JWT authorizer's context is `{claims, scopes}`, as Cognito and JWT authorizers give it.
    else if (ref.startsWith('authorizer.claims.')) v = (values.authorizer?.claims as Record<string, unknown> | undefined)?.[ref.slice(18)];
    else v = values.authorizer?.[ref.slice(11)];
    if (v === undefined || v === null) return '';
    out += String(v) + after;
  }
  return out;
}
