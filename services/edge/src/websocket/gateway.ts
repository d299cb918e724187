import { randomUUID } from 'node:crypto';
import uWS from 'uWebSockets.js';
import type { TemplatedApp, WebSocketBehavior } from 'uWebSockets.js';
import type { UpstreamAgent } from '../integrations/httpProxy/upstreamAgent.js';
import type { Logger } from 'pino';
import type { RedisClient } from '@turnpike/redis';
import type { TurnpikeConfig } from '@turnpike/config';
import type { RedisKeys } from '@turnpike/redis';
import type { FunctionInvoker } from '../services/invoker/invoker.js';
import type { RequestContext } from '../pipeline/context.js';
import type { RouteTable } from '../router/routeTable.js';
import type { ApiKeyCache } from '../services/traffic/apiKeyCache.js';
import type { EdgeMetrics } from '../services/metrics/edgeMetrics.js';
import type { AccessLog } from '../observe/edgeTelemetry.js';
import type { AuthorizationService } from '../services/authorization/index.js';
import { compileWebSocketApis, type CompiledWebSocketApi } from './compiledApi.js';
import type { Connection, UserData } from './connection.js';
import { CredentialStore } from './credentials.js';
import { Delivery } from './delivery.js';
import { WsEventLog } from './eventLog.js';
import { Handshakes } from './handshake.js';
import { Lifecycle } from './lifecycle.js';
import { handleManagementRequest } from './management.js';
import { ConnectionRegistry } from './registry.js';
import { WsRoutes } from './routes.js';

export interface WebSocketGatewayOptions {
  readonly config: TurnpikeConfig;
  readonly redis: RedisClient;
  readonly keys: RedisKeys;
  readonly logger: Logger;
  readonly agent: UpstreamAgent;
  /** Read per invocation: the function runtime may be wired in after the gateway is built. */
  readonly invoker: FunctionInvoker;
  /** The edge's current route table (host, base path and stage resolution). */
  readonly table: () => RouteTable;
  /** `$connect` authorizers share the HTTP routes' authorizers and policy cache. */
  readonly authorization: AuthorizationService;
  readonly apiKeys: ApiKeyCache;
  /** Connection and message counters (issue 7's interface); null when metrics are off. */
  readonly metrics: EdgeMetrics | null;
  /** One access-log line per connect, message and disconnect; null when off. */
  readonly accessLog: AccessLog | null;
  /**
   * The edge follows the control plane: WebSocket APIs may come with any deployment, so the gateway is
   * built even while the config has none, and uWS reads messages up to the largest limit an API may set.
   */
  readonly followsControl: boolean;
}

/** The largest `maxMessageBytes` an API may set (the config schema's bound). */
const MAX_API_MESSAGE_BYTES = 16 * 1024 * 1024;

/**
 * The WebSocket side of an edge node, built only when the config has a WebSocket API. It wires the
 * parts, one concern each: handshake.ts (upgrade and `$connect`), routes.ts (where a message goes),
 * delivery.ts (frames to connections and topics, here or on other nodes), management.ts (`@connections`
 * and `@topics`), lifecycle.ts (heartbeat, idle sweep, close, drain).
 */
export class WebSocketGateway {
  private apis: Map<string, CompiledWebSocketApi>;
  /** The connections this node holds, by id. */
  private readonly local = new Map<string, Connection>();
  /** Connections open on this node (the node's heartbeat reports it). */
  get connectionCount(): number {
    return this.local.size;
  }
  readonly nodeId = randomUUID();
  readonly registry: ConnectionRegistry;
  readonly credentials: CredentialStore;
  readonly delivery: Delivery;
  private readonly routes: WsRoutes;
  private readonly lifecycle: Lifecycle;
  private readonly handshakes: Handshakes;

  static create(options: WebSocketGatewayOptions): WebSocketGateway | null {
    return options.followsControl || options.config.apis.some((a) => a.type === 'websocket') ? new WebSocketGateway(options) : null;
  }

  private constructor(private readonly options: WebSocketGatewayOptions) {
    this.apis = this.compile(options.config);
    const { redis, keys, logger, metrics } = options;
    const node = options.config.gateway.websocket;
    const local = this.local;
    this.registry = new ConnectionRegistry(redis, keys, this.nodeId, node, logger, () => local.values(), (op) => metrics?.webSocketRegistryWriteFailure(op));
    this.credentials = new CredentialStore(redis, keys);
    this.delivery = new Delivery(local, this.registry, this.nodeId, redis, keys.tagged('wstopics', 'all'), logger);
    const log = new WsEventLog(options.accessLog);
    this.routes = new WsRoutes({ delivery: this.delivery, registry: this.registry, log, logger, metrics });
    this.lifecycle = new Lifecycle({ local, registry: this.registry, bus: this.delivery.bus, routes: this.routes, node, logger, metrics });
    this.handshakes = new Handshakes({ table: options.table, apis: () => this.apis, local, registry: this.registry, lifecycle: this.lifecycle, log, logger, metrics });
  }

  private compile(config: TurnpikeConfig): Map<string, CompiledWebSocketApi> {
    return compileWebSocketApis(config, this.options.table().apis, this.options);
  }

  /** New routes after `Edge.swapRoutes`; open connections keep the API they connected to. */
  reload(config: TurnpikeConfig): void {
    this.apis = this.compile(config);
  }

  /** Readiness: this node's inbox and the topics channel are subscribed (else @connections to it answer 410). */
  get subscribed(): boolean {
    return this.delivery.bus.subscribed;
  }

  /** Messages uWS dropped for slow consumers (drop policy). */
  get dropped(): number {
    return this.delivery.dropped;
  }

  /** Registers the WebSocket behavior on the edge's uWS app (one app per edge; upgrades only). */
  attach(app: TemplatedApp): void {
    this.delivery.attach(app);
    const node = this.options.config.gateway.websocket;
    let maxMessage = 0;
    for (const a of this.apis.values()) maxMessage = Math.max(maxMessage, a.limits.maxMessageBytes);
    const behavior: WebSocketBehavior<UserData> = {
      // uWS cuts off a bigger frame without a close frame (1006) before buffering it; up to 4x the API
      // limit the message is read and refused with 1009, so clients see why. The behavior is set once:
      // on an edge following the control plane it must admit what any later deployment allows.
      maxPayloadLength: this.options.followsControl ? MAX_API_MESSAGE_BYTES : maxMessage * 4,
      // uWS's own timeout only detects dead peers (it pings); the API's idle timeout counts data messages.
      idleTimeout: node.pingIntervalSeconds,
      sendPingsAutomatically: true,
      maxBackpressure: node.maxBufferedBytes,
      closeOnBackpressureLimit: node.slowConsumerPolicy === 'disconnect',
      compression: uWS.DISABLED,
      upgrade: (res, req, context) => this.handshakes.upgrade(res, req, context),
      open: (ws) => this.handshakes.opening(ws),
      message: (ws, message, isBinary) => this.routes.message(ws, message, isBinary),
      close: (ws, code, message) => this.lifecycle.closed(ws, code, message),
    };
    app.ws('/*', behavior);
  }

  start(): Promise<void> {
    return this.lifecycle.start(this.apis.values());
  }

  stop(graceMs: number): Promise<void> {
    return this.lifecycle.stop(graceMs);
  }

  /** HTTP requests to a WebSocket API: `@connections` and `@topics` (Edge.handle hands them here). */
  handleHttp(ctx: RequestContext, rawPath: string): void {
    const api = this.apis.get(ctx.api.id);
    if (!api) return ctx.gatewayError('RESOURCE_NOT_FOUND');
    handleManagementRequest(this, ctx, rawPath).catch((err: unknown) => ctx.fail(err));
  }
}
