import { RouteBuildError } from '../../router/routeTable.js';
import type { AuthRequest } from './authRequest.js';

/**
 * Identity sources, parsed once per authorizer: where the caller's identity is read, and what the policy
 * cache is keyed by. A missing or empty source answers 401 without calling the authorizer.
 */
export type IdentitySource =
  | { readonly kind: 'header'; readonly name: string }
  | { readonly kind: 'query'; readonly name: string }
  | { readonly kind: 'stageVariable'; readonly name: string }
  | { readonly kind: 'context'; readonly name: ContextVariable };

const CONTEXT_VARIABLES = ['identity.sourceIp', 'identity.userAgent', 'stage', 'httpMethod', 'resourcePath', 'path', 'apiId', 'domainName', 'routeKey'] as const;
type ContextVariable = (typeof CONTEXT_VARIABLES)[number];

/** Parses `method.request.header.X` / `$request.header.X` and friends (the schema has checked the syntax). */
export function parseIdentitySource(source: string): IdentitySource {
  const s = source.startsWith('$') ? source.slice(1) : source;
  const [, location, name] = /^(?:method\.)?request\.(header|querystring)\.(.+)$/.exec(s) ?? [];
  if (name !== undefined) return location === 'header' ? { kind: 'header', name: name.toLowerCase() } : { kind: 'query', name };
  const variable = /^stageVariables\.(.+)$/.exec(s)?.[1];
  if (variable !== undefined) return { kind: 'stageVariable', name: variable };
  const context = /^context\.(.+)$/.exec(s)?.[1];
  if (context !== undefined && (CONTEXT_VARIABLES as readonly string[]).includes(context)) return { kind: 'context', name: context as ContextVariable };
  throw new RouteBuildError(`identity source ${source} is not supported (context variables: ${CONTEXT_VARIABLES.join(', ')})`);
}

/** The source's value in `req`, or undefined when it is missing or empty. */
export function identityValue(src: IdentitySource, req: AuthRequest): string | undefined {
  let v: string | undefined | null;
  switch (src.kind) {
    case 'header':
      v = req.headers[src.name];
      break;
    case 'query':
      v = new URLSearchParams(req.query).get(src.name);
      break;
    case 'stageVariable':
      v = req.stageVariables[src.name];
      break;
    case 'context':
      v = contextVariable(src.name, req);
      break;
  }
  return v ? v : undefined;
}

function contextVariable(name: ContextVariable, req: AuthRequest): string | undefined {
  switch (name) {
    case 'identity.sourceIp':
      return req.sourceIp;
    case 'identity.userAgent':
      return req.headers['user-agent'];
    case 'stage':
      return req.stage;
    case 'httpMethod':
      return req.method;
    case 'resourcePath':
      return req.resourcePath;
    case 'path':
      return req.path;
    case 'apiId':
      return req.apiId;
    case 'domainName':
      return req.domainName;
    case 'routeKey':
      return req.routeKey;
  }
}
