import { RouteBuildError, type CompiledRoute } from '../../router/routeTable.js';
import type { EdgeServices } from '../../pipeline/pipeline.js';
import type { RequestContext } from '../../pipeline/context.js';
import { CONTINUE, STOP, type Stage, type StageResult } from '../../pipeline/stage.js';
import type { ApiKeyCache, CachedKey } from '../../services/traffic/apiKeyCache.js';
import { apiKeySourceOf } from '../../services/traffic/apiKeySource.js';
import type { SpendGuard } from '../../metering/spendGuard.js';

/** Where a request's API key value comes from: the `x-api-key` header, or the authorizer's `usageIdentifierKey`. */
type KeyValueOf = (ctx: RequestContext) => string | null | undefined;
const fromHeader: KeyValueOf = (ctx) => ctx.headers['x-api-key'];
const fromAuthorizer: KeyValueOf = (ctx) => ctx.usageIdentifierKey;

/**
 * `apiKeyRequired` routes: the key (`x-api-key` header, or with `apiKeySource: AUTHORIZER` the Lambda
 * authorizer's `usageIdentifierKey`) must name an enabled key that a usage plan covers for this API stage
 * (as in AWS, a key outside every plan of the stage is refused too). Every refusal is the same 403
 * `{"message":"Forbidden"}`; the access log gets the reason.
 */
export class ApiKeyStage implements Stage {
  readonly name = 'apiKey';
  readonly kind = 'check';

  constructor(
    private readonly cache: ApiKeyCache,
    private readonly spend: SpendGuard,
    private readonly valueOf: KeyValueOf,
  ) {}

  run(ctx: RequestContext): StageResult | Promise<StageResult> {
    const value = this.valueOf(ctx);
    if (value === undefined || value === null || value === '') return forbid(ctx, 'missing API key');
    const found = this.cache.lookup(value);
    if (!(found instanceof Promise)) return admit(ctx, found, this.spend);
    return found.then(
      (entry) => admit(ctx, entry, this.spend),
      () => {
        ctx.gatewayErrorStatus(503, 'Service Unavailable', 'API key could not be verified: redis unavailable');
        return STOP;
      },
    );
  }
}

function admit(ctx: RequestContext, entry: CachedKey, spend: SpendGuard): StageResult {
  const key = entry.key;
  if (key === null) return forbid(ctx, 'unknown API key');
  if (!key.enabled) return forbid(ctx, 'disabled API key');
  const binding = entry.bindings.get(ctx.api.id)?.get(ctx.stage.name);
  if (binding === undefined) return forbid(ctx, 'API key is in no usage plan of this stage');
  if (spend.blocks(key.id)) {
    ctx.gatewayError('QUOTA_EXCEEDED', 'API key reached its monthly spend cap');
    return STOP;
  }
  ctx.apiKeyId = key.id;
  ctx.usagePlan = binding;
  return CONTINUE;
}

function forbid(ctx: RequestContext, reason: string): StageResult {
  ctx.gatewayError('INVALID_API_KEY', `Forbidden: ${reason}`);
  return STOP;
}

/** Before the authorizer: keys from the `x-api-key` header. */
export function buildApiKeyStage(route: CompiledRoute, s: EdgeServices): Stage | null {
  return apiKeySourceOf(route) === 'HEADER' ? new ApiKeyStage(s.traffic.apiKeys, s.traffic.spend, fromHeader) : null;
}

/**
 * After the authorizer: keys from its `usageIdentifierKey` (`apiKeySource: AUTHORIZER`). Only a Lambda
 * authorizer with IAM-policy responses can return one; any other route would refuse every request, so it
 * is a config error instead.
 */
export function buildAuthorizerKeyStage(route: CompiledRoute, s: EdgeServices): Stage | null {
  if (apiKeySourceOf(route) !== 'AUTHORIZER') return null;
  const name = route.config.authorizer;
  const authorizer = name === undefined ? undefined : route.api.config.authorizers[name];
  if (authorizer === undefined || authorizer.type === 'jwt' || authorizer.type === 'cognito_user_pools' || (authorizer.type === 'request' && authorizer.enableSimpleResponses)) {
    throw new RouteBuildError('apiKeyRequired with apiKeySource AUTHORIZER needs a token or request authorizer (without simple responses) on the route: its usageIdentifierKey is the API key');
  }
  return new ApiKeyStage(s.traffic.apiKeys, s.traffic.spend, fromAuthorizer);
}
