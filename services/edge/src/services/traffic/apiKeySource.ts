import type { CompiledRoute } from '../../router/routeTable.js';

/** Where an `apiKeyRequired` route reads its key; null for a route that needs none. */
export function apiKeySourceOf(route: CompiledRoute): 'HEADER' | 'AUTHORIZER' | null {
  if (!route.config.apiKeyRequired) return null;
  return route.api.config.apiKeySource ?? 'HEADER';
}
