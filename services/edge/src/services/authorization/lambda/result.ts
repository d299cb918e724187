import { isObj, type Obj } from '@turnpike/codec';
import { reducePolicy, type ResourcePatterns } from '../policy/policy.js';
import { MalformedAuthorizerResult, type Grant } from '../verdict.js';

/**
 * A Lambda authorizer's answer, validated and reduced to what the shared cache stores: the grant that
 * allowed requests carry, and the resource patterns each request's method ARN is checked against.
 */
export interface AuthorizerResult extends Grant, ResourcePatterns {}


/** `{principalId, policyDocument, context?, usageIdentifierKey?}` (REST, and HTTP API without simple responses). */
export function parseIamResult(out: unknown): AuthorizerResult {
  if (!isObj(out)) throw new MalformedAuthorizerResult(`expected an object, got ${describe(out)}`);
  const p = out.principalId;
  if (typeof p !== 'string' && typeof p !== 'number') throw new MalformedAuthorizerResult('principalId is missing');
  const { allow, deny } = reducePolicy(out.policyDocument);
  const key = out.usageIdentifierKey;
  if (key !== undefined && key !== null && typeof key !== 'string') throw new MalformedAuthorizerResult('usageIdentifierKey must be a string');
  return { principalId: String(p), context: primitiveContext(out.context), usageIdentifierKey: key ?? null, allow, deny };
}

/** HTTP API simple responses: `{isAuthorized, context?}`; context values may be any JSON there. */
export function parseSimpleResult(out: unknown): AuthorizerResult {
  if (!isObj(out) || typeof out.isAuthorized !== 'boolean') throw new MalformedAuthorizerResult('a simple response needs a boolean isAuthorized');
  if (out.context !== undefined && out.context !== null && !isObj(out.context)) throw new MalformedAuthorizerResult('context must be an object');
  // An allowed simple response allows the route it was asked for; the cache key already includes the route's identity sources.
  return { principalId: null, context: out.context ? (out.context as Obj) : null, usageIdentifierKey: null, allow: out.isAuthorized ? ['*'] : [], deny: [] };
}

/** REST authorizer context: string, number and boolean values only, as API Gateway enforces. */
function primitiveContext(ctx: unknown): Record<string, string | number | boolean> | null {
  if (ctx === undefined || ctx === null) return null;
  if (!isObj(ctx)) throw new MalformedAuthorizerResult('context must be an object');
  const out: Record<string, string | number | boolean> = {};
  for (const [k, v] of Object.entries(ctx)) {
    if (v === null || v === undefined) continue;
    if (typeof v !== 'string' && typeof v !== 'number' && typeof v !== 'boolean') throw new MalformedAuthorizerResult(`context.${k} must be a string, number or boolean`);
    out[k] = v;
  }
  return out;
}

function describe(v: unknown): string {
  return v === null ? 'null' : Array.isArray(v) ? 'an array' : typeof v;
}
