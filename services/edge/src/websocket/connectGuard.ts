import type { ApiKeyCache, CachedKey } from '../services/traffic/apiKeyCache.js';
import type { Authorizer, AuthRequest, Verdict } from '../services/authorization/index.js';
import { FORBIDDEN, UNAUTHORIZED, methodArnPrefix } from '../services/authorization/index.js';
import { FunctionInvokeError } from '../services/invoker/invoker.js';
import { RedisUnavailableError } from '../redis/redisGuard.js';
import type { Connection } from './connection.js';
import type { Handshake } from './events.js';

/** What the guard decided: refuse the upgrade with this status, or admit with the authorizer's context. */
export type Admission = { refuse: number; message: string; reason: string } | { authorizer: Record<string, unknown> | null };

/**
 * The `$connect` route's checks before its integration runs: the API key (`apiKeyRequired`, the
 * x-api-key header, a usage plan covering the stage) and the authorizer (request or jwt, reading the
 * handshake's headers and query string; the same authorizer objects and policy cache as HTTP routes).
 */
export class ConnectGuard {
  constructor(
    private readonly authorizer: Authorizer | null,
    private readonly apiKeys: ApiKeyCache | null,
    private readonly region: string,
    private readonly accountId: string,
  ) {}

  async admit(conn: Connection, handshake: Handshake, rawHeaders: readonly string[], query: string, fullPath: string, requestId: string): Promise<Admission> {
    if (this.apiKeys !== null) {
      const value = handshake.lookup['x-api-key'];
      if (!value) return refuse(403, 'Forbidden', 'missing API key');
      let entry: CachedKey;
      try {
        entry = await this.apiKeys.lookup(value);
      } catch (err) {
        // As on REST routes: a key that cannot be verified without Redis is refused 503, never admitted.
        if (err instanceof RedisUnavailableError) return refuse(503, 'Service Unavailable', `API key could not be verified: ${err.message}`);
        throw err;
      }
      if (entry.key === null || !entry.key.enabled) return refuse(403, 'Forbidden', 'unknown or disabled API key');
      if (entry.bindings.get(conn.api.id)?.get(conn.stage.name) === undefined) return refuse(403, 'Forbidden', 'API key is in no usage plan of this stage');
    }
    if (this.authorizer === null) return { authorizer: null };
    const req: AuthRequest = {
      requestId,
      method: 'GET',
      path: '/',
      fullPath,
      resourcePath: '$connect',
      routeKey: '$connect',
      headers: handshake.lookup,
      rawHeaders,
      query,
      pathParameters: null,
      apiId: conn.api.id,
      stage: conn.stage.name,
      stageVariables: conn.stage.variables,
      sourceIp: conn.sourceIp,
      domainName: conn.domainName,
      requestTimeEpoch: conn.connectedAt,
    };
    let verdict: Verdict;
    try {
      verdict = await this.authorizer.authorize(req, methodArnPrefix(this.region, this.accountId, conn.api.id, conn.stage.name) + '$connect', null);
    } catch (err) {
      if (err instanceof FunctionInvokeError && err.kind === 'unavailable') return refuse(503, 'Service Unavailable', `authorizer could not be queued: ${err.message}`);
      throw err;
    }
    if (verdict === UNAUTHORIZED) return refuse(401, 'Unauthorized', 'authorizer: unauthorized');
    // No matching Allow and an explicit Deny both refuse the upgrade with 403.
    if (typeof verdict === 'number') return refuse(403, 'Forbidden', verdict === FORBIDDEN ? 'authorizer: policy does not allow $connect' : 'authorizer: policy denies $connect');
    const ctx: Record<string, unknown> = { ...verdict.context };
    if (verdict.principalId !== null) ctx.principalId = verdict.principalId;
    return { authorizer: ctx };
  }
}

function refuse(status: number, message: string, reason: string): Admission {
  return { refuse: status, message, reason };
}
