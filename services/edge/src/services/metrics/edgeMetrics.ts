import type { GatewayMetrics, RouteLabels } from '@turnpike/telemetry';
import type { RequestContext } from '../../pipeline/context.js';

/**
 * The metrics interface stages and the WebSocket edge call (`services.metrics?.throttled(ctx)`); null on
 * EdgeServices when metrics are off. Labels are the API id, stage and route template, taken from the
 * context, so no caller can put a raw path or an id into a label.
 */
export class EdgeMetrics {
  /** The last request's API, stage and route and their labels: consecutive requests mostly share them. */
  private lastApi: RequestContext['api'] | null = null;
  private lastStage: RequestContext['stage'] | null = null;
  private lastRoute: RequestContext['route'] = null;
  private lastLabels: RouteLabels | null = null;

  constructor(readonly gateway: GatewayMetrics) {}

  private labelsOf(ctx: RequestContext): RouteLabels {
    const { api, stage, route } = ctx;
    if (api === this.lastApi && stage === this.lastStage && route === this.lastRoute && this.lastLabels !== null) return this.lastLabels;
    const labels = this.gateway.labels(api.id, stage.name, route === null ? '-' : route.routeKey, stage.isCanary);
    this.lastApi = api;
    this.lastStage = stage;
    this.lastRoute = route;
    this.lastLabels = labels;
    return labels;
  }

  /** Called by the observer once per finished request. */
  request(ctx: RequestContext, latencyMs: number): void {
    this.gateway.request(this.labelsOf(ctx), ctx.status, latencyMs, ctx.integrationLatency);
  }

  authorizerCache(ctx: RequestContext, hit: boolean): void {
    this.gateway.authorizerCache(this.labelsOf(ctx), hit);
  }

  throttled(ctx: RequestContext): void {
    this.gateway.throttled(this.labelsOf(ctx));
  }

  /** WebSocket figures: `routeKey` is the route selected (`$connect`, `$default`, `sendMessage`). */
  webSocketConnected(apiId: string, stage: string): void {
    this.gateway.webSocketConnected(this.gateway.labels(apiId, stage, '$connect'));
  }

  webSocketDisconnected(apiId: string, stage: string): void {
    this.gateway.webSocketDisconnected(this.gateway.labels(apiId, stage, '$connect'));
  }

  webSocketMessage(apiId: string, stage: string, routeKey: string): void {
    this.gateway.webSocketMessage(this.gateway.labels(apiId, stage, routeKey));
  }

  webSocketIntegrationError(apiId: string, stage: string, routeKey: string): void {
    this.gateway.webSocketIntegrationError(this.gateway.labels(apiId, stage, routeKey));
  }

  webSocketClientError(apiId: string, stage: string, routeKey: string): void {
    this.gateway.webSocketClientError(this.gateway.labels(apiId, stage, routeKey));
  }

  webSocketRegistryWriteFailure(op: 'register' | 'unregister'): void {
    this.gateway.webSocketRegistryWriteFailure(op);
  }

  webSocketLimitClose(apiId: string, stage: string, limit: 'message_rate' | 'pending_bytes'): void {
    this.gateway.webSocketLimitClose(this.gateway.labels(apiId, stage, '-'), limit);
  }
}
