import { RouteBuildError } from '../../router/routeTable.js';
import { substituteStageVariables } from './uriTemplate.js';

/**
 * Configured upstream request headers (`requestHeaders`) of an HTTP integration, REST or WebSocket:
 * stage variables are fixed per stage and substituted once; `${context.authorizer.tenant}` and friends
 * are read per request.
 */
export interface HeaderTemplate {
  readonly name: string;
  /** Alternating literal text and context references. */
  readonly parts: readonly string[];
}

/** What a header template may read of one request or WebSocket event (RequestContext has all of it). */
export interface HeaderValues {
  readonly requestId: string;
  readonly stage: { readonly name: string };
  readonly sourceIp: string;
  readonly principalId: string | null;
  readonly authorizer: Record<string, unknown> | null;
}

const CONTEXT_REFS = /\$\{context\.([A-Za-z0-9_.]+)\}/g;

export function compileHeader(name: string, value: string, variables: Readonly<Record<string, string>>): HeaderTemplate {
  const withVars = substituteStageVariables(value, variables, (v) => {
    throw new RouteBuildError(`request header ${name} uses undefined stage variable ${v}`);
  });
  const parts: string[] = [];
  let last = 0;
  for (const m of withVars.matchAll(CONTEXT_REFS)) {
    const ref = m[1]!;
    if (!/^(requestId|stage|identity\.sourceIp|authorizer\.(claims\.)?[A-Za-z0-9_]+)$/.test(ref)) {
      throw new RouteBuildError(`request header ${name} uses \${context.${ref}}; supported: requestId, stage, identity.sourceIp, authorizer.<key>, authorizer.claims.<claim>`);
    }
    parts.push(withVars.slice(last, m.index), ref);
    last = m.index! + m[0].length;
  }
  parts.push(withVars.slice(last));
  return { name, parts };
}

/** The header's value for one request; '' when a referenced value is absent (the header is then not sent). */
export function expandHeader(t: HeaderTemplate, values: HeaderValues): string {
  if (t.parts.length === 1) return t.parts[0]!;
  let out = t.parts[0]!;
  for (let i = 1; i < t.parts.length; i += 2) {
    const ref = t.parts[i]!;
    let v: unknown;
    if (ref === 'requestId') v = values.requestId;
    else if (ref === 'stage') v = values.stage.name;
    else if (ref === 'identity.sourceIp') v = values.sourceIp;
    else if (ref === 'authorizer.principalId') v = values.principalId;
    // A JWT authorizer's context is `{claims, scopes}`, as Cognito and JWT authorizers give it.
    else if (ref.startsWith('authorizer.claims.')) v = (values.authorizer?.claims as Record<string, unknown> | undefined)?.[ref.slice(18)];
    else v = values.authorizer?.[ref.slice(11)];
    if (v === undefined || v === null) return '';
    out += String(v) + t.parts[i + 1]!;
  }
  return out;
}
