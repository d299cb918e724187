import type { EdgeServices } from '../../pipeline/pipeline.js';
import type { Stage } from '../../pipeline/stage.js';
import { RouteBuildError, type CompiledRoute } from '../../router/routeTable.js';
import { MappedHttpStage } from './httpMapped.js';

/** The INTEGRATIONS factory of `type: http` (API Gateway's non-proxy http integration). */
export function buildMappedHttp(route: CompiledRoute, services: EdgeServices): Stage {
  const integration = route.config.integration;
  if (integration.type !== 'http') throw new RouteBuildError('not an http integration');
  return new MappedHttpStage(route, integration, services.agent.get(), services.config.gateway.accountId, services.logger);
}
