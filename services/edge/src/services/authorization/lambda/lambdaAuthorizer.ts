import type { RequestAuthorizerConfig, TokenAuthorizerConfig } from '@turnpike/config';
import { FunctionInvokeError, type FunctionInvoker } from '../../invoker/invoker.js';
import type { Authorizer } from '../authorizer.js';
import type { CacheEntry, PolicyCache } from '../cache/policyCache.js';
import { identityValue, parseIdentitySource, type IdentitySource } from '../identity.js';
import { ALLOW, EXPLICIT_DENY, compilePolicy, policyDecision, type PolicyDecision } from '../policy/policy.js';
import type { AuthRequest } from '../authRequest.js';
import { EXPLICITLY_DENIED, FORBIDDEN, UNAUTHORIZED, type Verdict } from '../verdict.js';
import { requestEventV1, requestEventV2, tokenEvent } from './events.js';
import { parseIamResult, parseSimpleResult, type AuthorizerResult } from './result.js';

/** The function refused the caller (threw `Unauthorized`): 401, and nothing is cached. */
class Refused extends Error {}

export interface LambdaAuthorizerDeps {
  readonly cache: PolicyCache;
  readonly invoker: FunctionInvoker;
  readonly accountId: string;
}

/**
 * TOKEN, REQUEST (payload 1.0) and HTTP API (payload 2.0) Lambda authorizers, run on the function
 * workers. The identity values are read first (a missing one, or a token failing
 * identityValidationExpression, is 401 without calling anything), then the policy cache is asked, and
 * the function runs only on a miss.
 */
export class LambdaAuthorizer implements Authorizer {
  private readonly sources: readonly IdentitySource[];
  private readonly validation: RegExp | null;
  private readonly ttlMs: number;

  constructor(
    readonly name: string,
    private readonly config: TokenAuthorizerConfig | RequestAuthorizerConfig,
    /** Hash of the authorizer's configuration: the cache namespace. */
    private readonly namespace: string,
    private readonly deps: LambdaAuthorizerDeps,
  ) {
    this.sources = config.type === 'token' ? [parseIdentitySource(config.identitySource)] : config.identitySource.map(parseIdentitySource);
    this.validation = config.type === 'token' && config.identityValidationExpression ? new RegExp(config.identityValidationExpression) : null;
    this.ttlMs = config.resultTtlSeconds * 1000;
  }

  authorize(req: AuthRequest, methodArn: string): Verdict | Promise<Verdict> {
    const identity = this.sources.length === 0 ? '' : this.identity(req);
    if (identity === null) return UNAUTHORIZED;
    if (this.ttlMs === 0) {
      return this.invoke(req, methodArn, identity).then((result) => outcome(result, policyDecision(compilePolicy(result), methodArn)), refusal);
    }
    const hit = this.deps.cache.peek(this.namespace, identity, req.requestTimeEpoch);
    if (hit !== undefined) {
      req.onCacheLookup?.(true);
      return verdict(hit, methodArn);
    }
    // Only the request that runs the function is a miss; those that joined its flight are not.
    let ran = false;
    const load = () => {
      ran = true;
      return this.invoke(req, methodArn, identity);
    };
    return this.deps.cache.fetch(this.namespace, identity, this.ttlMs, load).then(
      (e) => {
        req.onCacheLookup?.(!ran);
        return verdict(e, methodArn);
      },
      (err: unknown) => {
        req.onCacheLookup?.(!ran);
        return refusal(err);
      },
    );
  }

  /**
   * The cache key: the identity source value, or with several sources each value prefixed with its
   * length (a query value may hold any character, so no separator could keep two callers apart).
   * Null when one is missing or empty, or the token fails identityValidationExpression.
   */
  private identity(req: AuthRequest): string | null {
    const sources = this.sources;
    const first = sources[0];
    if (first !== undefined && sources.length === 1) {
      const v = identityValue(first, req);
      if (v === undefined || (this.validation !== null && !this.validation.test(v))) return null;
      return v;
    }
    let key = '';
    for (const s of sources) {
      const v = identityValue(s, req);
      if (v === undefined) return null;
      key += `${v.length}:${v}`;
    }
    return key;
  }

  private async invoke(req: AuthRequest, methodArn: string, identity: string): Promise<AuthorizerResult> {
    const c = this.config;
    const event =
      c.type === 'token'
        ? tokenEvent(identity, methodArn)
        : c.payloadFormatVersion === '2.0'
          ? requestEventV2(req, methodArn, this.sources.map((src) => identityValue(src, req)!), this.deps.accountId)
          : requestEventV1(req, methodArn, this.deps.accountId);
    let out: unknown;
    try {
      out = await this.deps.invoker.invoke(c.function, event, { requestId: req.requestId, timeoutMs: c.timeoutMs });
    } catch (err) {
      if (err instanceof FunctionInvokeError && err.kind === 'handler' && (err.message === 'Unauthorized' || err.errorType === 'Unauthorized')) throw new Refused();
      throw err;
    }
    return c.type === 'request' && c.enableSimpleResponses ? parseSimpleResult(out) : parseIamResult(out);
  }
}

function verdict(entry: CacheEntry, methodArn: string): Verdict {
  let decision: PolicyDecision;
  if (entry.lastArn === methodArn) {
    decision = entry.lastDecision;
  } else {
    decision = policyDecision(entry.policy, methodArn);
    entry.lastArn = methodArn;
    entry.lastDecision = decision;
  }
  return outcome(entry.result, decision);
}

function outcome(result: AuthorizerResult, decision: PolicyDecision): Verdict {
  return decision === ALLOW ? result : decision === EXPLICIT_DENY ? EXPLICITLY_DENIED : FORBIDDEN;
}

function refusal(err: unknown): Verdict {
  if (err instanceof Refused) return UNAUTHORIZED;
  throw err;
}
