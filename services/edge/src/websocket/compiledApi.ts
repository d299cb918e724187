import { ConfigError, type ConfigIssue, type TurnpikeConfig, type WebSocketApiSettingsConfig, type WebSocketRouteConfig } from '@turnpike/config';
import type { CompiledApi } from '../router/routeTable.js';
import { RouteBuildError } from '../router/routeTable.js';
import { RouteSelector } from './routeSelection.js';
import { buildWsIntegration, type WsIntegration, type WsIntegrationDeps } from '../integrations/webSocket.js';
import { ConnectGuard } from './connectGuard.js';
import { MessageLimits } from './messageLimits.js';
import type { AuthorizationService } from '../services/authorization/index.js';
import type { ApiKeyCache } from '../services/traffic/apiKeyCache.js';

export interface WsBuildDeps extends WsIntegrationDeps {
  readonly authorization: AuthorizationService;
  readonly apiKeys: ApiKeyCache;
}

export interface CompiledWsRoute {
  readonly key: string;
  readonly config: WebSocketRouteConfig;
  readonly integration: WsIntegration;
}

/** One WebSocket API compiled once (routes, integrations, limits), shared by all its connections. */
export class CompiledWebSocketApi {
  readonly selector: RouteSelector;
  readonly routes: ReadonlyMap<string, CompiledWsRoute>;
  readonly connect: CompiledWsRoute | null;
  readonly disconnect: CompiledWsRoute | null;
  readonly fallback: CompiledWsRoute | null;
  /** API key and authorizer checks of `$connect`; null when it has neither. */
  readonly guard: ConnectGuard | null;
  readonly limits: { readonly idleTimeoutMs: number; readonly maxConnectionDurationMs: number; readonly maxMessageBytes: number };
  /** `binaryMessages: base64`: binary client frames go to routes base64-encoded instead of closing the connection with 1003. */
  readonly acceptsBinary: boolean;
  readonly messageLimits: MessageLimits;

  constructor(
    readonly id: string,
    api: CompiledApi,
    settings: WebSocketApiSettingsConfig,
    config: TurnpikeConfig,
    deps: WsBuildDeps,
  ) {
    const stages = api.stages.values();
    this.selector = new RouteSelector(settings.routeSelectionExpression);
    const routes = new Map<string, CompiledWsRoute>();
    const stageList = [...stages];
    for (const [key, config] of Object.entries(settings.routes)) {
      routes.set(key, { key, config, integration: buildWsIntegration(config.integration, stageList, settings.maxMessageBytes, deps) });
    }
    this.connect = routes.get('$connect') ?? null;
    this.disconnect = routes.get('$disconnect') ?? null;
    this.fallback = routes.get('$default') ?? null;
    const connect = this.connect?.config;
    let guard: ConnectGuard | null = null;
    if (connect && (connect.authorizer !== undefined || connect.apiKeyRequired)) {
      const authorizerConfig = connect.authorizer === undefined ? undefined : api.config.authorizers[connect.authorizer];
      if (connect.authorizer !== undefined && !authorizerConfig) throw new RouteBuildError(`$connect names authorizer ${connect.authorizer}, which is not defined`);
      if (authorizerConfig?.type === 'token') throw new RouteBuildError(`$connect authorizer ${connect.authorizer} is a token authorizer; WebSocket APIs take request (or jwt) authorizers`);
      const authorizer = authorizerConfig ? deps.authorization.authorizer(api.id, connect.authorizer!, authorizerConfig, { invoker: deps.invoker, accountId: config.gateway.accountId }) : null;
      guard = new ConnectGuard(authorizer, connect.apiKeyRequired ? deps.apiKeys : null, config.gateway.region, config.gateway.accountId);
    }
    this.guard = guard;
    for (const k of ['$connect', '$disconnect', '$default']) routes.delete(k);
    this.routes = routes;
    this.acceptsBinary = settings.binaryMessages === 'base64';
    this.limits = { idleTimeoutMs: settings.idleTimeoutMs, maxConnectionDurationMs: settings.maxConnectionDurationMs, maxMessageBytes: settings.maxMessageBytes };
    this.messageLimits = new MessageLimits(settings.maxMessagesPerSecond, settings.messageBurst, settings.maxPendingBytes);
  }

  /** The route a text message selects: its key's route, else `$default`, else null (an error frame). */
  select(text: string | null): CompiledWsRoute | null {
    if (text !== null && this.routes.size > 0) {
      const key = this.selector.select(text);
      if (key !== null) {
        const r = this.routes.get(key);
        if (r) return r;
      }
    }
    return this.fallback;
  }
}

/** Compiles every `type: websocket` API of a config, keyed by API id; every problem is reported at once. */
export function compileWebSocketApis(config: TurnpikeConfig, apis: readonly CompiledApi[], deps: WsBuildDeps): Map<string, CompiledWebSocketApi> {
  const out = new Map<string, CompiledWebSocketApi>();
  const issues: ConfigIssue[] = [];
  apis.forEach((api) => {
    const settings = api.config.websocket;
    if (api.config.type !== 'websocket' || !settings) return;
    try {
      out.set(api.id, new CompiledWebSocketApi(api.id, api, settings, config, deps));
    } catch (err) {
      if (!(err instanceof RouteBuildError)) throw err;
      issues.push({ file: config.file, path: `apis[${config.apis.indexOf(api.config)}].websocket.routes`, message: err.message });
    }
  });
  if (issues.length) throw new ConfigError(issues);
  return out;
}
