import { createHash } from 'node:crypto';
import { qualifiedFunctionName } from '@turnpike/codec/plain';
import type { ApiConfig, AuthorizerConfig, DeployedFunctionConfig, IntegrationConfig } from './schema.js';

/**
 * A deployed function's version: the first 12 hex digits of the SHA-256 of its definition's canonical
 * JSON (code, handler and settings). Equal definitions, equal versions, whichever deployment holds them:
 * a deploy that changes routes only keeps its functions' versions, queues and warm hosts.
 */
export function functionVersion(def: DeployedFunctionConfig): string {
  return createHash('sha256').update(canonicalJson(def)).digest('hex').slice(0, 12);
}

/**
 * The API as an edge serves one of its deployments: every reference to a function the deployment holds
 * (route and WebSocket route integrations, Lambda authorizers) names that function's version
 * (`orders@3f9a2b1c4d5e`), so its requests run the code the deployment froze. References to other
 * functions (served by workers from their own config) are left as they are.
 */
export function pinFunctionVersions(api: ApiConfig): ApiConfig {
  const fns = api.functions;
  if (fns === undefined || Object.keys(fns).length === 0) return api;
  const pinned = new Map(Object.entries(fns).map(([name, def]) => [name, qualifiedFunctionName(name, functionVersion(def))]));
  const integration = (i: IntegrationConfig): IntegrationConfig => (i.type === 'function' && pinned.has(i.function) ? { ...i, function: pinned.get(i.function)! } : i);
  const authorizer = (a: AuthorizerConfig): AuthorizerConfig => ((a.type === 'token' || a.type === 'request') && pinned.has(a.function) ? { ...a, function: pinned.get(a.function)! } : a);
  const mapValues = <T>(o: Record<string, T>, f: (v: T) => T): Record<string, T> => Object.fromEntries(Object.entries(o).map(([k, v]) => [k, f(v)]));
  return {
    ...api,
    routes: mapValues(api.routes, (r) => ({ ...r, integration: integration(r.integration) })),
    authorizers: mapValues(api.authorizers, authorizer),
    ...(api.websocket ? { websocket: { ...api.websocket, routes: mapValues(api.websocket.routes, (r) => ({ ...r, integration: integration(r.integration) })) } } : {}),
  };
}

function canonicalJson(v: unknown): string {
  if (Array.isArray(v)) return `[${v.map(canonicalJson).join(',')}]`;
  if (v !== null && typeof v === 'object') {
    const o = v as Record<string, unknown>;
    return `{${Object.keys(o)
      .filter((k) => o[k] !== undefined)
      .sort()
      .map((k) => `${JSON.stringify(k)}:${canonicalJson(o[k])}`)
      .join(',')}}`;
  }
  return JSON.stringify(v);
}
