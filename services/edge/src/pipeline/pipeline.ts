import type { IntegrationConfig, TurnpikeConfig } from '@turnpike/config';
import type { RedisKeys } from '@turnpike/redis';
import type { RedisClient } from '@turnpike/redis';
import type { UpstreamPools } from '../integrations/httpProxy/http1/upstreamPool.js';
import type { UpstreamAgent } from '../integrations/httpProxy/upstreamAgent.js';
import type { Logger } from 'pino';
import type { FunctionInvoker } from '../services/invoker/invoker.js';
import { buildHttpProxy } from '../integrations/httpProxy/httpProxy.js';
import { MockStage } from '../integrations/mock/mock.js';
import { MappedMockStage } from '../integrations/mapping/mockMapped.js';
import { buildMappedHttp } from '../integrations/mapping/build.js';
import { buildFunctionIntegration } from '../integrations/function/functionStage.js';
import { buildCors } from '../stages/cors/corsStage.js';
import { buildRequestValidator } from '../stages/validate/requestValidator.js';
import { buildAuthorize } from '../stages/authorize/authorizeStage.js';
import type { AuthorizationService } from '../services/authorization/authorizationService.js';
import { buildApiKeyStage, buildAuthorizerKeyStage } from '../stages/apiKey/apiKeyStage.js';
import { buildPlanThrottleStage, buildThrottleStage } from '../stages/throttle/throttleStage.js';
import type { TrafficControl } from '../services/traffic/trafficControl.js';
import type { EdgeMetrics } from '../services/metrics/edgeMetrics.js';
import type { AccessLog } from '../observe/edgeTelemetry.js';
import { runStageTraced } from '../observe/stageSpan.js';
import { RouteBuildError, type CompiledApi, type CompiledRoute, type PipelineBuilder } from '../router/routeTable.js';
import type { RequestContext } from './context.js';
import { CONTINUE, STOP, type Stage, type StageResult } from './stage.js';

/**
 * The request pipeline, in order:
 *
 *   CORS → route → API key → throttle → authorize → validate → integrate → respond → log/measure
 *
 * CORS runs per API before routing (a preflight needs no route). Routing is the route table's match.
 * The per-route stages are built here, once per route, from the factories below in this order; a
 * factory returns null when its stage has nothing to do for a route. The integration is always last.
 * With `apiKeySource: AUTHORIZER` the key comes from the authorizer, so the API key stage and the plan's
 * throttle and quota run after it instead (the same stages, built by the factories after buildAuthorize).
 * Respond is RequestContext.respond / the integration's streaming writer; log/measure is the
 * RequestObserver called when the response is finished.
 */

/** What stage factories may use; built once per edge node. */
export interface EdgeServices {
  readonly config: TurnpikeConfig;
  /** Keep-alive connection pools to upstreams (undici: TLS upstreams, mapped and WebSocket integrations, streamed bodies). */
  readonly agent: UpstreamAgent;
  /** The lean HTTP/1.1 client's pools: plain `http_proxy` routes to `http:` upstreams. */
  readonly upstreams: UpstreamPools;
  readonly logger: Logger;
  /** Fail-fast connection (no offline queue): a stage decides what a Redis outage means for it. */
  readonly redis: RedisClient;
  readonly keys: RedisKeys;
  /** Runs functions on the workers (it connects on first use, so an edge without functions pays nothing). */
  readonly invoker: FunctionInvoker;
  /** Counters stages feed (`services.metrics?.throttled(ctx)`); null when metrics are off. */
  readonly metrics: EdgeMetrics | null;
  /** WebSocket events' access-log lines (`services.accessLog?.webSocket(event)`); null when off. */
  readonly accessLog: AccessLog | null;
  /** Throttle buckets, API keys, usage plans and metering for this node (docs/traffic.md). */
  readonly traffic: TrafficControl;
  /** Authorizers, the shared policy cache and JWKS resolvers (services/authorization). */
  readonly authorization: AuthorizationService;
}

export type ApiStageFactory = (api: CompiledApi, services: EdgeServices) => Stage | null;
export type RouteStageFactory = (route: CompiledRoute, services: EdgeServices) => Stage | null;
export type IntegrationFactory = (route: CompiledRoute, services: EdgeServices) => Stage;

/** Before routing, once the API is known. */
const API_STAGES: readonly ApiStageFactory[] = [buildCors];

/** After routing and before the integration: API key, throttle, authorize (then an authorizer's API key and its plan), request validation. */
const ROUTE_STAGES: readonly RouteStageFactory[] = [buildApiKeyStage, buildThrottleStage, buildAuthorize, buildAuthorizerKeyStage, buildPlanThrottleStage, buildRequestValidator];

const INTEGRATIONS: { readonly [T in IntegrationConfig['type']]: IntegrationFactory } = {
  http_proxy: (route, s) => buildHttpProxy(route, s.agent, s.upstreams),
  function: buildFunctionIntegration,
  mock: (route, s) => {
    if (route.config.integration.type !== 'mock') throw new RouteBuildError('not a mock integration');
    return route.config.integration.mapping ? new MappedMockStage(route.config.integration.mapping, route, s.config.gateway.accountId, s.logger) : new MockStage(route.config.integration);
  },
  http: buildMappedHttp,
};

export function pipelineBuilder(services: EdgeServices): PipelineBuilder {
  return {
    logger: services.logger,
    apiStages: (api) => API_STAGES.map((f) => f(api, services)).filter((s): s is Stage => s !== null),
    routeStages: (route) => {
      const stages = ROUTE_STAGES.map((f) => f(route, services)).filter((s): s is Stage => s !== null);
      stages.push(INTEGRATIONS[route.config.integration.type](route, services));
      return stages;
    },
  };
}

/**
 * Runs `stages` from index `i`, synchronously for as long as stages answer synchronously, and calls
 * `then` if every stage continued. A stage's Promise is awaited only when one is returned.
 */
export function runStages(ctx: RequestContext, stages: readonly Stage[], i: number, then: ((ctx: RequestContext) => void) | null): void {
  for (let stage = stages[i]; stage !== undefined; stage = stages[++i]) {
    let result: StageResult | Promise<StageResult>;
    try {
      result = ctx.trace === null ? stage.run(ctx) : runStageTraced(stage, ctx, ctx.trace);
    } catch (err) {
      ctx.fail(err);
      return;
    }
    if (result === CONTINUE) continue;
    if (result === STOP) return;
    const next = i + 1;
    result.then(
      (r) => {
        if (r === CONTINUE && !ctx.aborted && !ctx.responded) runStages(ctx, stages, next, then);
      },
      (err: unknown) => ctx.fail(err),
    );
    return;
  }
  if (then !== null) then(ctx);
}
