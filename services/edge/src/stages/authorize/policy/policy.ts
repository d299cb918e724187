import { MalformedAuthorizerResult } from '../verdict.js';

/**
 * IAM policy evaluation for `execute-api:Invoke`, as API Gateway applies an authorizer's policy: an
 * explicit Deny on a matching resource beats any Allow, and no matching Allow is a deny.
 *
 * A policy is reduced once, when the authorizer answers, to the resource patterns of its Allow and Deny
 * statements that cover `execute-api:Invoke` (a statement for other actions cannot allow or deny this
 * call); those patterns are what the shared cache stores, and each node compiles them once into one
 * RegExp per effect. Evaluating a request is then at most two RegExp tests on its method ARN.
 */

/** The reduced policy: what is cached and shared between nodes. */
export interface ResourcePatterns {
  readonly allow: readonly string[];
  readonly deny: readonly string[];
}

export interface CompiledPolicy {
  readonly allow: RegExp | null;
  readonly deny: RegExp | null;
}

type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);
const INVOKE = 'execute-api:invoke';

/** Validates `policyDocument` and keeps what matters for `execute-api:Invoke`; throws MalformedAuthorizerResult. */
export function reducePolicy(doc: unknown): ResourcePatterns {
  if (!isObj(doc)) throw new MalformedAuthorizerResult('policyDocument is not an object');
  const raw = doc.Statement;
  const statements = Array.isArray(raw) ? raw : isObj(raw) ? [raw] : null;
  if (!statements) throw new MalformedAuthorizerResult('policyDocument.Statement is missing');
  const allow: string[] = [];
  const deny: string[] = [];
  statements.forEach((s, i) => {
    if (!isObj(s)) throw new MalformedAuthorizerResult(`policyDocument.Statement[${i}] is not an object`);
    const effect = typeof s.Effect === 'string' ? s.Effect.toLowerCase() : '';
    if (effect !== 'allow' && effect !== 'deny') throw new MalformedAuthorizerResult(`policyDocument.Statement[${i}].Effect must be Allow or Deny`);
    const actions = stringList(s.Action, `Statement[${i}].Action`);
    const resources = stringList(s.Resource, `Statement[${i}].Resource`);
    // IAM action names are case-insensitive; resources are not.
    if (!actions.some((a) => wildcardRegExp(a.toLowerCase()).test(INVOKE))) return;
    (effect === 'allow' ? allow : deny).push(...resources);
  });
  return { allow, deny };
}

export function compilePolicy(p: ResourcePatterns): CompiledPolicy {
  return { allow: anyOf(p.allow), deny: anyOf(p.deny) };
}

/** True when the policy allows invoking `arn`. */
export function isAllowed(policy: CompiledPolicy, arn: string): boolean {
  if (policy.deny !== null && policy.deny.test(arn)) return false;
  return policy.allow !== null && policy.allow.test(arn);
}

/** IAM wildcards: `*` any run of characters (slashes included), `?` exactly one. */
export function wildcardSource(pattern: string): string {
  let out = '';
  for (const ch of pattern) {
    if (ch === '*') out += '[\\s\\S]*';
    else if (ch === '?') out += '[\\s\\S]';
    else out += ch.replace(/[\\^$.|+()[\]{}]/g, '\\$&');
  }
  return out;
}

function wildcardRegExp(pattern: string): RegExp {
  return new RegExp(`^${wildcardSource(pattern)}$`);
}

function anyOf(patterns: readonly string[]): RegExp | null {
  if (patterns.length === 0) return null;
  return new RegExp(`^(?:${[...new Set(patterns)].map(wildcardSource).join('|')})$`);
}

function stringList(v: unknown, where: string): string[] {
  if (typeof v === 'string') return [v];
  if (Array.isArray(v) && v.length > 0 && v.every((x) => typeof x === 'string')) return v as string[];
  throw new MalformedAuthorizerResult(`policyDocument.${where} must be a string or a non-empty list of strings`);
}
