import { isObj } from '@turnpike/codec';
import { MalformedAuthorizerResult } from '../verdict.js';
import { matchesWildcard, WildcardPattern } from './wildcard.js';

/**
 * IAM policy evaluation for `execute-api:Invoke`, as API Gateway applies an authorizer's policy: an
 * explicit Deny on a matching resource beats any Allow, and no matching Allow is a deny.
 *
 * A policy is reduced once, when the authorizer answers, to the resource patterns of its Allow and Deny
 * statements that cover `execute-api:Invoke` (a statement for other actions cannot allow or deny this
 * call); those patterns are what the shared cache stores. Each node compiles them once per cached
 * result, and evaluating a request matches its method ARN against them with the greedy IAM wildcard
 * matcher (wildcard.ts). Patterns come from authorizer output, which may echo client input, so no
 * pattern may cost more than O(pattern × ARN).
 */

/** The reduced policy: what is cached and shared between nodes. */
export interface ResourcePatterns {
  readonly allow: readonly string[];
  readonly deny: readonly string[];
}

export interface CompiledPolicy {
  readonly allow: readonly WildcardPattern[];
  readonly deny: readonly WildcardPattern[];
}

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
    if (!actions.some((a) => matchesWildcard(a.toLowerCase(), INVOKE))) return;
    (effect === 'allow' ? allow : deny).push(...resources);
  });
  return { allow, deny };
}

export function compilePolicy(p: ResourcePatterns): CompiledPolicy {
  return { allow: compileAll(p.allow), deny: compileAll(p.deny) };
}

/** True when the policy allows invoking `arn`. */
export function isAllowed(policy: CompiledPolicy, arn: string): boolean {
  return policyDecision(policy, arn) === ALLOW;
}

export const ALLOW = 0;
/** No Allow statement covers the method. */
export const NO_ALLOW = 1;
/** A Deny statement covers the method (AWS answers it with a body of its own). */
export const EXPLICIT_DENY = 2;
export type PolicyDecision = typeof ALLOW | typeof NO_ALLOW | typeof EXPLICIT_DENY;

/** IAM's order: an explicit Deny beats any Allow; no matching Allow is an (implicit) deny. */
export function policyDecision(policy: CompiledPolicy, arn: string): PolicyDecision {
  if (matchesAny(policy.deny, arn)) return EXPLICIT_DENY;
  return matchesAny(policy.allow, arn) ? ALLOW : NO_ALLOW;
}

function compileAll(patterns: readonly string[]): WildcardPattern[] {
  return [...new Set(patterns)].map((p) => new WildcardPattern(p));
}

function matchesAny(patterns: readonly WildcardPattern[], arn: string): boolean {
  for (const pattern of patterns) if (pattern.matches(arn)) return true;
  return false;
}

function stringList(v: unknown, where: string): string[] {
  if (typeof v === 'string') return [v];
  if (Array.isArray(v) && v.length > 0 && v.every((x) => typeof x === 'string')) return v as string[];
  throw new MalformedAuthorizerResult(`policyDocument.${where} must be a string or a non-empty list of strings`);
}
