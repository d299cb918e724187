import type { EdgeMetrics } from '../../services/metrics/edgeMetrics.js';
import type { RequestContext } from '../../pipeline/context.js';
import type { EdgeServices } from '../../pipeline/pipeline.js';
import { CONTINUE, STOP, type Stage, type StageResult } from '../../pipeline/stage.js';
import { RouteBuildError, type CompiledRoute } from '../../router/routeTable.js';
import { FunctionInvokeError } from '../../services/invoker/invoker.js';
import type { Authorizer } from '../../services/authorization/authorizer.js';
import { methodArnPrefix } from '../../services/authorization/policy/methodArn.js';
import { HttpAuthRequest } from './httpAuthRequest.js';
import { EXPLICITLY_DENIED, UNAUTHORIZED, type Verdict } from '../../services/authorization/verdict.js';

/**
 * The authorize route stage: runs the route's authorizer and answers 401 or 403, or puts the grant on
 * the context (`ctx.principalId`, `ctx.authorizer`) for the integration: function events carry it in
 * `requestContext.authorizer`, HTTP proxy request headers map it with `${context.authorizer.KEY}`; its
 * `usageIdentifierKey` is the API key the next stage checks when the API's `apiKeySource` is AUTHORIZER.
 * A cached policy answers synchronously; only a cache miss (or a JWT check) makes the request wait.
 */
export class AuthorizeStage implements Stage {
  readonly name = 'authorize';
  readonly kind = 'check';
  /** `arn:aws:execute-api:REGION:ACCOUNT:API/STAGE/`, per stage name. */
  private readonly arnPrefixes: ReadonlyMap<string, string>;

  constructor(
    route: CompiledRoute,
    private readonly authorizer: Authorizer,
    private readonly scopes: readonly string[] | null,
    region: string,
    accountId: string,
    private readonly metrics: EdgeMetrics | null,
    /** A Lambda authorizer's run time goes to `requestContext.authorizer.integrationLatency`. */
    private readonly lambda: boolean,
  ) {
    const prefixes = new Map<string, string>();
    for (const s of route.api.stages.values()) prefixes.set(s.name, methodArnPrefix(region, accountId, route.api.id, s.name));
    this.arnPrefixes = prefixes;
  }

  run(ctx: RequestContext): StageResult | Promise<StageResult> {
    const req = new HttpAuthRequest(ctx, this.metrics);
    let verdict: Verdict | Promise<Verdict>;
    try {
      verdict = this.authorizer.authorize(req, this.arnPrefixes.get(ctx.stage.name)! + ctx.method + req.path, this.scopes);
    } catch (err) {
      return failed(ctx, err);
    }
    if (verdict instanceof Promise) {
      // Timed from here: a cached answer needs no clock, and what ran before the Promise is microseconds.
      const started = performance.now();
      return verdict.then(
        (v) => {
          if (this.lambda) ctx.authorizerLatency = Math.round(performance.now() - started);
          return apply(ctx, v);
        },
        (err: unknown) => failed(ctx, err),
      );
    }
    // A cached policy: the authorizer did not run.
    if (this.lambda) ctx.authorizerLatency = 0;
    return apply(ctx, verdict);
  }
}

function apply(ctx: RequestContext, v: Verdict): StageResult {
  if (typeof v === 'number') {
    if (v === UNAUTHORIZED) ctx.gatewayError('UNAUTHORIZED', 'Unauthorized');
    else if (v === EXPLICITLY_DENIED) ctx.sendAnswer(ctx.api.responses.explicitDeny(), 'User is not authorized to access this resource with an explicit deny', null);
    else ctx.gatewayError('ACCESS_DENIED', 'User is not authorized to access this resource');
    return STOP;
  }
  ctx.principalId = v.principalId;
  ctx.authorizer = v.context as Record<string, unknown> | null;
  ctx.usageIdentifierKey = v.usageIdentifierKey;
  return CONTINUE;
}

/** The ROUTE_STAGES factory: null for a route without an authorizer. */
export function buildAuthorize(route: CompiledRoute, services: EdgeServices): Stage | null {
  const name = route.config.authorizer;
  if (name === undefined) return null;
  const config = route.api.config.authorizers[name];
  if (!config) throw new RouteBuildError(`no authorizer named "${name}" in this API's or the top-level authorizers`);
  const { region, accountId } = services.config.gateway;
  const authorizer = services.authorization.authorizer(route.api.id, name, config, { invoker: services.invoker, accountId, cognitoEndpoint: services.config.gateway.cognito.endpoint });
  const scopes = route.config.authorizationScopes?.length ? route.config.authorizationScopes : null;
  return new AuthorizeStage(route, authorizer, scopes, region, accountId, services.metrics, config.type !== 'jwt');
}

/**
 * A Lambda authorizer that could not be queued (Redis down or not answering within its bound) is a 503,
 * like every other Redis outage on a request path. One that crashed, timed out or answered something
 * that is not a policy is AWS's AUTHORIZER_CONFIGURATION_ERROR (500, AuthorizerConfigurationException).
 */
function failed(ctx: RequestContext, err: unknown): StageResult {
  if (err instanceof FunctionInvokeError && err.kind === 'unavailable') ctx.fail(err, 503);
  else ctx.fail(err, 'AUTHORIZER_CONFIGURATION_ERROR');
  return STOP;
}
