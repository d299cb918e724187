import type { ApiConfig, RouteConfig, RouteMethod, TurnpikeConfig } from '@turnpike/config';
import { ConfigError } from '@turnpike/config';
import type { Logger } from 'pino';
import type { Stage } from '../pipeline/stage.js';
import { DefaultGatewayResponses, type ApiKind } from '../http/gatewayResponses.js';
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
  /** This is the canary side of a stage (`$context.isCanaryRequest`). */
  readonly isCanary: boolean;
  /** The stage's canary, when it has one. */
  readonly canary: Canary | null;
}

/** A stage's canary: the API (deployment) it serves and the stage as the canary sees it. */
export interface Canary {
  readonly percent: number;
  readonly api: CompiledApi;
  readonly stage: ApiStage;
}

/** One base path mapping of a custom domain, compiled. */
interface Mount {
  readonly segments: readonly string[];
  readonly api: CompiledApi;
  readonly stage: ApiStage;
}

export interface CompiledApi {
  readonly id: string;
  readonly name: string;
  readonly config: ApiConfig;
  /** REST API or HTTP API: decides every gateway answer and the response's request-id headers. */
  readonly kind: ApiKind;
  /** The kind's default gateway answers (errors the gateway itself makes). */
  readonly responses: DefaultGatewayResponses;
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
  /** Where compiling says what it could not compile (a mapping template left to velocityjs, at debug level). */
  readonly logger?: Logger;
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
    private readonly byDomain: ReadonlyMap<string, readonly Mount[]>,
    readonly apis: readonly CompiledApi[],
  ) {}

  static compile(config: TurnpikeConfig, builder: PipelineBuilder): RouteTable {
    const issues: ConfigError['issues'] = [];
    const apis = config.apis.map((apiConfig, index) => compileRoutes(apiConfig, false, builder, `apis[${index}]`, config.file, issues));
    checkMounts(config, apis, issues);
    linkCanaries(config, apis, builder, issues);
    const byDomain = compileDomains(config, apis, issues);
    if (issues.length) throw new ConfigError(issues);

    const byHost = new Map<string, CompiledApi[]>();
    const anyHost: CompiledApi[] = [];
    // An API without stages (a deployment that is only some stage's canary) is reached through that stage only.
    for (const api of apis.filter((a) => a.stages.size > 0)) {
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
    return new RouteTable(byHost, anyHost, byDomain, apis);
  }

  /**
   * Finds the API and the stage a request path belongs to: on a custom domain by its base path mappings
   * only, elsewhere by host, then longest base path. A stage with a canary sends the canary its share.
   */
  resolve(host: string, segments: readonly string[]): Resolved | null {
    const mounts = this.byDomain.get(host);
    let found: Resolved | null;
    if (mounts !== undefined) found = resolveMount(mounts, segments);
    else {
      const forHost = this.byHost.get(host);
      found = (forHost && resolveIn(forHost, segments)) || resolveIn(this.anyHost, segments);
      const stageName = segments[0];
      const second = segments[1];
      if (stageName !== undefined && second !== undefined && MANAGEMENT_SEGMENTS.has(second) && (found === null || found.api.config.type !== 'websocket')) {
        found = this.managementBelowBasePath(forHost, stageName) ?? found;
      }
    }
    if (found === null) return null;
    const canary = found.stage.canary;
    if (canary !== null && Math.random() * 100 < canary.percent) return { api: canary.api, stage: canary.stage, offset: found.offset };
    return found;
  }

  /**
   * `/{stage}/@connections/...` (or `@topics`) for a WebSocket API mounted below a base path: the URL a
   * handler builds from its event (`https://${domainName}/${stage}`, AWS's endpoint has no base path) is
   * served by the one WebSocket API of this host with that stage. None or several such APIs: no answer
   * here (the path answers as before, 404). API Gateway resource paths cannot contain `@`, so this shadows
   * no REST or HTTP route.
   */
  private managementBelowBasePath(forHost: readonly CompiledApi[] | undefined, stageName: string): Resolved | null {
    let found: Resolved | null = null;
    for (const list of [forHost ?? NO_APIS, this.anyHost]) {
      for (const api of list) {
        if (api.config.type !== 'websocket' || api.basePathSegments.length === 0) continue;
        const stage = api.stages.get(stageName);
        if (stage === undefined || stage.isDefault) continue;
        if (found !== null && found.api !== api) return null;
        found = { api, stage, offset: 1 };
      }
    }
    return found;
  }

  match(resolved: Resolved, method: string, segments: readonly string[]): MatchResult<CompiledRoute> {
    return resolved.api.trie.match(method, segments, resolved.offset);
  }
}

/** The first path segment below a stage that names the WebSocket management API. */
const MANAGEMENT_SEGMENTS: ReadonlySet<string> = new Set(['@connections', '@topics']);
const NO_APIS: readonly CompiledApi[] = [];

function resolveIn(apis: readonly CompiledApi[], segments: readonly string[]): Resolved | null {
  for (const api of apis) {
    const base = api.basePathSegments;
    if (!startsWith(segments, base)) continue;
    const stageSegment = segments[base.length];
    const named = stageSegment === undefined ? undefined : api.stages.get(stageSegment);
    if (named && !named.isDefault) return { api, stage: named, offset: base.length + 1 };
    if (api.defaultStage) return { api, stage: api.defaultStage, offset: base.length };
  }
  return null;
}

function resolveMount(mounts: readonly Mount[], segments: readonly string[]): Resolved | null {
  for (const m of mounts) if (startsWith(segments, m.segments)) return { api: m.api, stage: m.stage, offset: m.segments.length };
  return null;
}

/** Whether the path's first segments are `base` (a base path, or a domain's mapping). */
function startsWith(segments: readonly string[], base: readonly string[]): boolean {
  if (segments.length < base.length) return false;
  for (let i = 0; i < base.length; i++) if (segments[i] !== base[i]) return false;
  return true;
}

/**
 * Two APIs serving the same stage at the same host and base path would shadow each other silently. A
 * config file cannot say so (the loader refuses a shared mount); APIs composed from the control plane
 * can, and entries of one API (one per deployment) never share a stage.
 */
function checkMounts(config: TurnpikeConfig, apis: CompiledApi[], issues: ConfigError['issues']): void {
  const owner = new Map<string, string>();
  apis.forEach((api, index) => {
    for (const host of api.config.hosts.length ? api.config.hosts : ['*']) {
      for (const stage of api.stages.keys()) {
        const where = `${host}${api.config.basePath === '/' ? '' : api.config.basePath}${stage === '$default' ? '' : '/' + stage}`;
        const other = owner.get(where);
        if (other !== undefined && other !== api.name) issues.push({ file: config.file, path: `apis[${index}].stages.${stage}`, message: `API "${api.name}" and API "${other}" both serve ${where}` });
        owner.set(where, api.name);
      }
    }
  });
}

/** One API's routes and pipelines; a canary side's stages are all marked `isCanary`. */
function compileRoutes(apiConfig: ApiConfig, canary: boolean, builder: PipelineBuilder, at: string, file: string, issues: ConfigError['issues']): CompiledApi {
  const api = compileApi(apiConfig, canary, builder.logger);
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
      else if (err instanceof RouteConflictError || err instanceof RouteBuildError) issues.push({ file, path: `${at}.routes.${key}`, message: err.message });
      else throw err;
    }
  }
  return api;
}

/**
 * Gives every stage with `canary` its canary side: the routes of the API entry with the named deployment
 * (or the stage's own), compiled again for this one stage with the canary's variables laid over the
 * stage's, so every integration is built for exactly the variables its requests will see.
 */
function linkCanaries(config: TurnpikeConfig, apis: CompiledApi[], builder: PipelineBuilder, issues: ConfigError['issues']): void {
  apis.forEach((api, index) => {
    const stages = api.stages as Map<string, ApiStage>;
    for (const [name, s] of Object.entries(api.config.stages)) {
      if (!s.canary) continue;
      const wanted = s.canary.deployment;
      const target = wanted === undefined || wanted === api.config.deployment ? api : apis.find((a) => a.name === api.name && a.config.deployment === wanted);
      const at = `apis[${index}].stages.${name}.canary`;
      if (!target) {
        issues.push({ file: config.file, path: `${at}.deployment`, message: `no deployment "${wanted}" of API "${api.name}" is loaded` });
        continue;
      }
      const sideConfig: ApiConfig = { ...target.config, stages: { [name]: { ...s, canary: undefined, variables: { ...s.variables, ...s.canary.variables } } } };
      const side = compileRoutes(sideConfig, true, builder, at, config.file, issues);
      const main = stages.get(name)!;
      const linked: ApiStage = Object.freeze({ ...main, canary: Object.freeze({ percent: s.canary.percent, api: side, stage: side.stages.get(name)! }) });
      stages.set(name, linked);
      if (main.isDefault) (api as { defaultStage: ApiStage | null }).defaultStage = linked;
    }
  });
}

function compileDomains(config: TurnpikeConfig, apis: CompiledApi[], issues: ConfigError['issues']): Map<string, Mount[]> {
  const byDomain = new Map<string, Mount[]>();
  for (const [domain, mappings] of Object.entries(config.domains ?? {})) {
    const mounts: Mount[] = [];
    for (const [basePath, m] of Object.entries(mappings)) {
      const api = apis.find((a) => a.name === m.api && a.stages.has(m.stage));
      if (!api) {
        issues.push({ file: config.file, path: `domains.${domain}.${basePath}`, message: `no API "${m.api}" with a stage "${m.stage}" is loaded` });
        continue;
      }
      mounts.push({ segments: basePath === '(none)' ? [] : [basePath], api, stage: api.stages.get(m.stage)! });
    }
    mounts.sort((a, b) => b.segments.length - a.segments.length);
    byDomain.set(domain, mounts);
  }
  return byDomain;
}

function compileApi(config: ApiConfig, isCanary: boolean, logger: Logger | undefined): CompiledApi {
  const stages = new Map<string, ApiStage>();
  for (const [name, s] of Object.entries(config.stages)) {
    stages.set(name, Object.freeze({ name, variables: s.variables, isDefault: name === '$default', isCanary, canary: null }));
  }
  const kind = apiKind(config);
  return {
    id: config.id ?? config.name,
    name: config.name,
    config,
    kind,
    responses: new DefaultGatewayResponses(kind),
    basePathSegments: config.basePath === '/' ? [] : config.basePath.slice(1).split('/'),
    stages,
    defaultStage: stages.get('$default') ?? null,
    trie: new RouteTrie<CompiledRoute>(),
    preRoute: [],
    gatewayResponses: GatewayResponses.compile(config.gatewayResponses ?? {}, logger),
  };
}

/** `type: http` is an HTTP API; `rest` (the default) and WebSocket APIs answer with REST's gateway responses. */
export function apiKind(config: ApiConfig): ApiKind {
  return config.type === 'http' ? 'http' : 'rest';
}
