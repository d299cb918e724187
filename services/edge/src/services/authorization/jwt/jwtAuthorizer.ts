import { errors, jwtVerify, type JWTPayload, type JWTVerifyGetKey, type JWTVerifyOptions } from 'jose';
import type { CognitoAuthorizerConfig, JwtAuthorizerConfig } from '@turnpike/config';
import type { Authorizer } from '../authorizer.js';
import { BoundedLru } from '../cache/boundedLru.js';
import { identityValue, parseIdentitySource, type IdentitySource } from '../identity.js';
import type { AuthRequest } from '../authRequest.js';
import { FORBIDDEN, UNAUTHORIZED, type Grant, type Verdict } from '../verdict.js';

/**
 * HTTP APIs' built-in JWT authorizer, on jose: the bearer token's signature is checked against the
 * issuer's key set (fetched, cached and refetched on rotation by jose's remote JWKS), then `iss`, `aud`,
 * `exp` and `nbf` (with the configured clock skew). Only the configured asymmetric algorithms are
 * accepted, so `alg: none` and HS/RS confusion (an RSA public key used as an HMAC secret) fail before any
 * key is looked at. A route's required scopes need at least one match in `scope`/`scp`: else 403.
 *
 * The context is `{claims, scopes}` as Cognito (REST) and JWT (HTTP API) authorizers give it: function
 * events carry it in `requestContext.authorizer`, and `${context.authorizer.claims.sub}` maps a claim onto
 * an upstream header. Claim values are primitives as they are, anything else as JSON; `sub` is the principal.
 */
export class JwtAuthorizer implements Authorizer {
  private readonly source: IdentitySource;
  private readonly options: JWTVerifyOptions & { clockTolerance: number };
  /**
   * Tokens verified on this node, so a client sending the same token again costs a Map lookup rather
   * than a signature check. An entry lives until the token expires (with the skew) and at most a minute,
   * so a key withdrawn from the key set stops being honoured within a minute, as with an uncached check
   * after jose's own key-set refresh.
   */
  private readonly verified = new BoundedLru<Verified>(10_000);

  constructor(
    readonly name: string,
    rules: JwtRules,
    private readonly keys: JWTVerifyGetKey,
  ) {
    this.source = parseIdentitySource(rules.identitySource);
    this.options = { issuer: rules.issuer, ...(rules.audience ? { audience: rules.audience } : {}), algorithms: rules.algorithms, clockTolerance: rules.clockSkewSeconds };
    this.admits = rules.admits ?? ((t, required) => (hasScope(t.scopes, required) ? ADMITTED : FORBIDDEN));
  }

  private readonly admits: Admission;

  authorize(req: AuthRequest, _methodArn: string, scopes: readonly string[] | null): Verdict | Promise<Verdict> {
    const header = identityValue(this.source, req);
    if (header === undefined) return UNAUTHORIZED;
    const token = /^bearer\s+/i.test(header) ? header.replace(/^bearer\s+/i, '') : header;
    const now = Date.now();
    const hit = this.verified.get(token, now);
    if (hit !== undefined) {
      const admission = this.admits(hit, scopes);
      return admission === ADMITTED ? hit.grant : admission;
    }
    return jwtVerify(token, this.keys, this.options).then(({ payload }) => {
      const granted = scopesOf(payload);
      const exp = typeof payload.exp === 'number' ? (payload.exp + this.options.clockTolerance) * 1000 : Infinity;
      const v: Verified = { grant: grant(payload, granted), payload, scopes: granted, expiresAt: Math.min(exp, now + VERIFIED_TTL_MS) };
      this.verified.set(token, v);
      const admission = this.admits(v, scopes);
      return admission === ADMITTED ? v.grant : admission;
    }, tokenFault);
  }
}

/** What a JwtAuthorizer checks: HTTP APIs' JWT authorizer and REST APIs' Cognito user pool authorizer differ only here. */
export interface JwtRules {
  identitySource: string;
  issuer: string | string[];
  /** Checked by jose against `aud`; absent for Cognito, whose access tokens carry `client_id` instead. */
  audience?: string[];
  algorithms: string[];
  clockSkewSeconds: number;
  /** Whether a verified token may call a route requiring `required`; default: one of them in `scope`/`scp`, else 403. */
  admits?: Admission;
}

export const ADMITTED = 0;
export type Admission = (token: VerifiedToken, required: readonly string[] | null) => typeof ADMITTED | typeof UNAUTHORIZED | typeof FORBIDDEN;

export interface VerifiedToken {
  readonly payload: JWTPayload;
  readonly scopes: readonly string[];
}

export function jwtRules(config: JwtAuthorizerConfig): JwtRules {
  return { identitySource: config.identitySource, issuer: config.issuer, audience: [...config.audiences], algorithms: [...config.algorithms], clockSkewSeconds: config.clockSkewSeconds };
}

/**
 * A Cognito user pool authorizer: without route scopes only ID tokens (`token_use: id`, `aud` an accepted
 * client), with scopes only access tokens (`token_use: access`, `client_id` an accepted client) granting one.
 * A token that is genuine but of the wrong kind, another client's, or without a required scope is 401, as
 * API Gateway's Cognito authorizer answers.
 */
export function cognitoRules(config: CognitoAuthorizerConfig, issuers: string[]): JwtRules {
  const clients = config.clientIds.length ? new Set(config.clientIds) : null;
  const clientOk = (v: unknown) => clients === null || (typeof v === 'string' && clients.has(v));
  return {
    identitySource: config.identitySource,
    issuer: issuers,
    algorithms: ['RS256'],
    clockSkewSeconds: config.clockSkewSeconds,
    admits: ({ payload, scopes }, required) => {
      const ok =
        required === null || required.length === 0
          ? payload.token_use === 'id' && (Array.isArray(payload.aud) ? payload.aud.some(clientOk) : clientOk(payload.aud))
          : payload.token_use === 'access' && clientOk(payload.client_id) && hasScope(scopes, required);
      return ok ? ADMITTED : UNAUTHORIZED;
    },
  };
}

const VERIFIED_TTL_MS = 60_000;

interface Verified extends VerifiedToken {
  readonly grant: Grant;
  readonly expiresAt: number;
}

/** Problems with the token are the caller's (401); an unreachable or broken key set is the gateway's (500). */
function tokenFault(err: unknown): Verdict {
  if (err instanceof errors.JOSEError && !(err instanceof errors.JWKSTimeout) && !(err instanceof errors.JWKSInvalid) && !(err instanceof errors.JWKInvalid)) return UNAUTHORIZED;
  throw err;
}

/** The token's scopes, from `scope` (space-separated, RFC 8693) or `scp` (a list or a string). */
function scopesOf(payload: JWTPayload): string[] {
  const out: string[] = [];
  for (const claim of [payload.scope, payload.scp]) {
    if (typeof claim === 'string') out.push(...claim.split(' ').filter(Boolean));
    else if (Array.isArray(claim)) for (const s of claim) out.push(String(s));
  }
  return out;
}

/** A route's required scopes: at least one must be granted. */
function hasScope(granted: readonly string[], required: readonly string[] | null): boolean {
  return required === null || required.length === 0 || required.some((s) => granted.includes(s));
}

function grant(payload: JWTPayload, scopes: string[]): Grant {
  const claims: Record<string, string | number | boolean> = {};
  for (const [k, v] of Object.entries(payload)) {
    if (typeof v === 'string' || typeof v === 'number' || typeof v === 'boolean') claims[k] = v;
    else if (v !== undefined && v !== null) claims[k] = JSON.stringify(v);
  }
  return { principalId: typeof payload.sub === 'string' ? payload.sub : null, context: { claims, scopes: scopes.length ? scopes : null }, usageIdentifierKey: null };
}
