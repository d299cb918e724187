import type { ApiConfig, RouteConfig, RouteMethod, TurnpikeConfig } from '@turnpike/config';
import { ConfigError } from '@turnpike/config';
import type { Stage } from '../pipeline/stage.js';
import { GatewayResponses } from '../gatewayResponses/gatewayResponses.js';
import { RouteConflictError, RouteTrie, type MatchResult } from './routeTrie.js';

/**
 * The compiled, immutable snapshot of every API a node serves. Building one does all the parsing and
 * validation; serving a request only reads it. Swapping deployments is one assignment of a new table
 * (`Edge.swapRoutes`): requests already running keep the table they started with.
 */

export interface ApiStage {
  readonly name: string;
  readonly variables: Readonly<Record<string, string>>;
  /** `$default` is served without a path prefix. */
  readonly isDefault: boolean;
}

export interface CompiledApi {
  readonly id: string;
  readonly name: string;
  readonly config: ApiConfig;
  readonly basePathSegments: readonly string[];
  readonly stages: ReadonlyMap<string, ApiStage>;
  readonly defaultStage: ApiStage | null;
  readonly trie: RouteTrie<CompiledRoute>;
  /** Stages that run once the API is known and before routing (CORS preflight). */
  preRoute: readonly Stage[];
  /** The API's customized gateway responses; null (or absent) when it has none. */
  readonly gatewayResponses?: GatewayResponses | null;
}

export interface CompiledRoute {
  readonly api: CompiledApi;
  /** `GET /pets/{id}` */
  readonly routeKey: string;
  readonly method: RouteMethod;
  /** `/pets/{id}` */
  readonly resourcePath: string;
  readonly config: RouteConfig;
  /** The route's pipeline after routing, in order; the integration is last. */
  stages: readonly Stage[];
}

/** Thrown by a stage factory for a route it cannot build (a bad URI template, an unknown function...). */
export class RouteBuildError extends Error {}

/** Builds the stages of the pipeline; see pipeline/pipeline.ts for the order. */
export interface PipelineBuilder {
  apiStages(api: CompiledApi): Stage[];
  routeStages(route: CompiledRoute): Stage[];
}

export interface Resolved {
  api: CompiledApi;
  stage: ApiStage;
  /** Index of the first segment of the route's own path. */
  offset: number;
}

export class RouteTable {
  private constructor(
    private readonly byHost: ReadonlyMap<string, readonly CompiledApi[]>,
    private readonly anyHost: readonly CompiledApi[],
    readonly apis: readonly CompiledApi[],
  ) {}

  static compile(config: TurnpikeConfig, builder: PipelineBuilder): RouteTable {
    const issues: ConfigError['issues'] = [];
    const apis = config.apis.map((apiConfig, index) => {
      const api = compileApi(apiConfig);
      api.preRoute = builder.apiStages(api);
      for (const [key, routeConfig] of Object.entries(apiConfig.routes)) {
        const space = key.indexOf(' ');
        const route: CompiledRoute = {
          api,
          routeKey: key,
          method: key.slice(0, space) as RouteMethod,
          resourcePath: key.slice(space + 1),
          config: routeConfig,
          stages: [],
        };
        try {
          route.stages = builder.routeStages(route);
          api.trie.add(route.method, route.resourcePath, route);
        } catch (err) {
          if (err instanceof ConfigError) issues.push(...err.issues);
          else if (err instanceof RouteConflictError || err instanceof RouteBuildError) issues.push({ file: config.file, path: `apis[${index}].routes.${key}`, message: err.message });
          else throw err;
        }
      }
      return api;
    });
    if (issues.length) throw new ConfigError(issues);

    const byHost = new Map<string, CompiledApi[]>();
    const anyHost: CompiledApi[] = [];
    for (const api of apis) {
      if (api.config.hosts.length === 0) anyHost.push(api);
      for (const h of api.config.hosts) {
        let list = byHost.get(h);
        if (!list) byHost.set(h, (list = []));
        list.push(api);
      }
    }
    const longestBaseFirst = (a: CompiledApi, b: CompiledApi) => b.basePathSegments.length - a.basePathSegments.length;
    for (const list of byHost.values()) list.sort(longestBaseFirst);
    anyHost.sort(longestBaseFirst);
    return new RouteTable(byHost, anyHost, apis);
  }

  /** Finds the API (by host, then longest base path) and the stage a request path belongs to. */
  resolve(host: string, segments: readonly string[]): Resolved | null {
    const forHost = this.byHost.get(host);
    return (forHost && resolveIn(forHost, segments)) || resolveIn(this.anyHost, segments);
  }

  match(resolved: Resolved, method: string, segments: readonly string[]): MatchResult<CompiledRoute> {
    return resolved.api.trie.match(method, segments, resolved.offset);
  }
}

function resolveIn(apis: readonly CompiledApi[], segments: readonly string[]): Resolved | null {
  for (const api of apis) {
    const base = api.basePathSegments;
    if (segments.length < base.length) continue;
    let i = 0;
    while (i < base.length && segments[i] === base[i]) i++;
    if (i < base.length) continue;
    const named = i < segments.length ? api.stages.get(segments[i]!) : undefined;
    if (named && !named.isDefault) return { api, stage: named, offset: i + 1 };
    if (api.defaultStage) return { api, stage: api.defaultStage, offset: i };
  }
  return null;
}

function compileApi(config: ApiConfig): CompiledApi {
  const stages = new Map<string, ApiStage>();
  for (const [name, s] of Object.entries(config.stages)) {
    stages.set(name, Object.freeze({ name, variables: s.variables, isDefault: name === '$default' }));
  }
  return {
    id: config.id ?? config.name,
    name: config.name,
    config,
    basePathSegments: config.basePath === '/' ? [] : config.basePath.slice(1).split('/'),
    stages,
    defaultStage: stages.get('$default') ?? null,
    trie: new RouteTrie<CompiledRoute>(),
    preRoute: [],
    gatewayResponses: GatewayResponses.compile(config.gatewayResponses ?? {}),
  };
}
