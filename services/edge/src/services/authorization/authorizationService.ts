import { createHash } from 'node:crypto';
import { createRemoteJWKSet, errors, type JWTVerifyGetKey } from 'jose';
import type { RedisClient } from '@turnpike/redis';
import type { Logger } from 'pino';
import { COGNITO_POOL_ARN, type AuthorizerConfig } from '@turnpike/config';
import type { RedisKeys } from '@turnpike/redis';
import type { FunctionInvoker } from '../invoker/invoker.js';
import type { Authorizer } from './authorizer.js';
import { PolicyCache, type PolicyCacheStats } from './cache/policyCache.js';
import { JwtAuthorizer, cognitoRules, jwtRules } from './jwt/jwtAuthorizer.js';
import { LambdaAuthorizer } from './lambda/lambdaAuthorizer.js';

export interface AuthorizationOptions {
  redis: RedisClient;
  keys: RedisKeys;
  logger: Logger;
  /** Policy-cache entries kept in memory per node (default 10,000). */
  maxCacheEntries?: number;
}

/**
 * Per edge node: the policy cache and the JWKS resolvers, outliving route-table swaps, and the
 * authorizers built from a configuration (one per API and name, shared by that API's routes and by its
 * WebSocket `$connect` route).
 */
export class AuthorizationService {
  readonly cache: PolicyCache;
  private readonly jwks = new Map<string, JWTVerifyGetKey>();
  /** Keyed by the frozen config object: a new deployment builds new authorizers, the old ones are collected. */
  private readonly built = new WeakMap<AuthorizerConfig, Map<string, Authorizer>>();

  constructor(options: AuthorizationOptions) {
    this.cache = new PolicyCache({ redis: options.redis, keys: options.keys, logger: options.logger, maxEntries: options.maxCacheEntries });
  }

  get stats(): Readonly<PolicyCacheStats> {
    return this.cache.stats;
  }

  /**
   * The authorizer `name` of API `apiId`, built once and shared by every route that names it. Throws
   * RouteBuildError when it cannot be built (an unsupported identity source).
   */
  authorizer(apiId: string, name: string, config: AuthorizerConfig, env: { invoker: FunctionInvoker; accountId: string; cognitoEndpoint?: string }): Authorizer {
    let byApi = this.built.get(config);
    if (!byApi) this.built.set(config, (byApi = new Map()));
    let a = byApi.get(apiId);
    if (a) return a;
    if (config.type === 'jwt') {
      a = new JwtAuthorizer(name, jwtRules(config), this.keySet(config.jwksUri ?? `${config.issuer.replace(/\/$/, '')}/.well-known/jwks.json`, config));
    } else if (config.type === 'cognito_user_pools') {
      const issuers = config.userPools.map((arn) => cognitoIssuer(arn, env.cognitoEndpoint));
      const sets = new Map(issuers.map((iss) => [iss, this.keySet(`${iss}/.well-known/jwks.json`, config)] as const));
      a = new JwtAuthorizer(name, cognitoRules(config, issuers), byIssuer(sets));
    } else {
      a = new LambdaAuthorizer(name, config, configHash(apiId, name, config), { cache: this.cache, invoker: env.invoker, accountId: env.accountId });
    }
    byApi.set(apiId, a);
    return a;
  }

  /** One resolver per key set URL and settings, so every route and API using an issuer shares its cached keys. */
  private keySet(uri: string, c: { jwksCacheSeconds: number; jwksCooldownSeconds: number }): JWTVerifyGetKey {
    const id = `${uri} ${c.jwksCacheSeconds} ${c.jwksCooldownSeconds}`;
    let k = this.jwks.get(id);
    if (!k) {
      k = createRemoteJWKSet(new URL(uri), { cacheMaxAge: c.jwksCacheSeconds * 1000, cooldownDuration: c.jwksCooldownSeconds * 1000, timeoutDuration: 5000 });
      this.jwks.set(id, k);
    }
    return k;
  }
}

/** `ENDPOINT/POOL_ID`, ENDPOINT by default Cognito's in the pool's region. */
function cognitoIssuer(arn: string, endpoint: string | undefined): string {
  const [, region, pool] = COGNITO_POOL_ARN.exec(arn)!;
  return `${(endpoint ?? `https://cognito-idp.${region}.amazonaws.com`).replace(/\/$/, '')}/${pool}`;
}

/**
 * The key set of the pool that issued the token. The unverified `iss` only picks which keys to try:
 * jose then checks the signature with them and `iss` against the configured issuers.
 */
function byIssuer(sets: ReadonlyMap<string, JWTVerifyGetKey>): JWTVerifyGetKey {
  return (header, token) => {
    let iss: unknown;
    try {
      iss = (JSON.parse(Buffer.from(typeof token.payload === 'string' ? token.payload : Buffer.from(token.payload).toString(), 'base64url').toString('utf8')) as { iss?: unknown }).iss;
    } catch {
      throw new errors.JWTInvalid('JWT payload is not JSON');
    }
    const set = typeof iss === 'string' ? sets.get(iss) : undefined;
    if (!set) throw new errors.JWTClaimValidationFailed('unexpected "iss" claim value', {}, 'iss', 'check_failed');
    return set(header, token);
  };
}

/** The cache namespace: any change to the authorizer's configuration starts a new one. */
function configHash(apiId: string, name: string, config: AuthorizerConfig): string {
  return createHash('sha256').update(JSON.stringify([apiId, name, config])).digest('base64url').slice(0, 16);
}
