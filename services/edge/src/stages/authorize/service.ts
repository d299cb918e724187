import { createHash } from 'node:crypto';
import { createRemoteJWKSet, type JWTVerifyGetKey } from 'jose';
import type { RedisClient } from '@turnpike/redis';
import type { Logger } from 'pino';
import type { AuthorizerConfig, JwtAuthorizerConfig } from '@turnpike/config';
import type { RedisKeys } from '@turnpike/redis';
import type { FunctionInvoker } from '../../integrations/function/invoker.js';
import type { Authorizer } from './authorizer.js';
import { PolicyCache, type PolicyCacheStats } from './cache/policyCache.js';
import { JwtAuthorizer } from './jwt/jwtAuthorizer.js';
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
  authorizer(apiId: string, name: string, config: AuthorizerConfig, env: { invoker: FunctionInvoker; accountId: string }): Authorizer {
    let byApi = this.built.get(config);
    if (!byApi) this.built.set(config, (byApi = new Map()));
    let a = byApi.get(apiId);
    if (a) return a;
    if (config.type === 'jwt') {
      a = new JwtAuthorizer(name, config, this.keySet(config));
    } else {
      a = new LambdaAuthorizer(name, config, configHash(apiId, name, config), { cache: this.cache, invoker: env.invoker, accountId: env.accountId });
    }
    byApi.set(apiId, a);
    return a;
  }

  /** One resolver per key set URL and settings, so every route and API using an issuer shares its cached keys. */
  private keySet(c: JwtAuthorizerConfig): JWTVerifyGetKey {
    const uri = c.jwksUri ?? `${c.issuer.replace(/\/$/, '')}/.well-known/jwks.json`;
    const id = `${uri} ${c.jwksCacheSeconds} ${c.jwksCooldownSeconds}`;
    let k = this.jwks.get(id);
    if (!k) {
      k = createRemoteJWKSet(new URL(uri), { cacheMaxAge: c.jwksCacheSeconds * 1000, cooldownDuration: c.jwksCooldownSeconds * 1000, timeoutDuration: 5000 });
      this.jwks.set(id, k);
    }
    return k;
  }
}

/** The cache namespace: any change to the authorizer's configuration starts a new one. */
function configHash(apiId: string, name: string, config: AuthorizerConfig): string {
  return createHash('sha256').update(JSON.stringify([apiId, name, config])).digest('base64url').slice(0, 16);
}
