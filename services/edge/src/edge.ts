/// <reference path="./types/uws-augment.d.ts" />
import { randomUUID } from 'node:crypto';
import uWS from 'uWebSockets.js';
import type { HttpRequest, HttpResponse, TemplatedApp, us_listen_socket } from 'uWebSockets.js';
import { Agent } from 'undici';
import pino, { type Logger } from 'pino';
import type { ApiConfig, TurnpikeConfig } from '@turnpike/config';
import { connectRedis, RedisKeys, type RedisClient } from '@turnpike/redis';
import { QueueFunctionInvoker } from './integrations/function/queueInvoker.js';
import { normalizePath } from './http/normalizePath.js';
import { RequestBody } from './http/requestBody.js';
import { RequestContext, type ContextServices, type RequestObserver } from './pipeline/context.js';
import { pipelineBuilder, runStages, type EdgeServices } from './pipeline/pipeline.js';
import { AuthorizationService } from './stages/authorize/service.js';
import { RouteTable, type ApiStage, type CompiledApi } from './router/routeTable.js';
import { RouteTrie } from './router/routeTrie.js';
import { startManagement, type ManagementServer } from './management/server.js';
import { advertisePortGroup, claimPort, type PortClaim } from './listen/portClaim.js';
import { EdgeTelemetry, type TelemetryOptions } from './observe/edgeTelemetry.js';
import { TrafficControl } from './stages/throttle/trafficControl.js';
import { WebSocketGateway } from './websocket/gateway.js';

export interface EdgeOptions {
  config: TurnpikeConfig;
  /** Overrides config.gateway.listen.port; 0 picks a free port. */
  port?: number;
  host?: string;
  /** Overrides config.gateway.management.port; 0 picks a free port, -1 disables the listener. */
  managementPort?: number;
  redisUrl?: string;
  /** Overrides config.gateway.redis.keyPrefix (tests give every run its own). */
  keyPrefix?: string;
  logger?: Logger;
  /** Also called for every finished request, after the access log, metrics and tracing from the config. */
  observer?: RequestObserver | null;
  /** Where spans and metrics go besides what the config sets up (tests: in-memory exporters). */
  telemetry?: TelemetryOptions;
  /** Replaces Date.now for throttle buckets, quota periods and metering days (tests). */
  clock?: () => number;
  /**
   * Edges started with the same group may share a port (SO_REUSEPORT); without one, an edge refuses a
   * port that is in use (listen/portClaim.ts).
   */
  portGroup?: string | null;
}

/** A running edge node. Built from a config object; several can run in one process. */
export class Edge {
  readonly logger: Logger;
  readonly redis: RedisClient;
  readonly telemetry: EdgeTelemetry;
  readonly invoker: QueueFunctionInvoker;
  readonly traffic: TrafficControl;
  /** WebSocket APIs, the connection registry and @connections; null when the config has no WebSocket API. */
  readonly websockets: WebSocketGateway | null;
  private table: RouteTable;
  private readonly app: TemplatedApp;
  private readonly agent: Agent;
  private services: EdgeServices;
  private readonly ctxServices: ContextServices;
  private listenSocket: us_listen_socket | null = null;
  private management: ManagementServer | null = null;
  private portClaims: PortClaim[] = [];
  private inflight = 0;
  private drained: (() => void) | null = null;
  private draining = false;
  port = -1;

  constructor(private readonly options: EdgeOptions) {
    const { config } = options;
    this.logger = options.logger ?? pino({ name: 'turnpike-edge' });
    this.agent = new Agent({ keepAliveTimeout: 30_000, keepAliveMaxTimeout: 600_000, connections: 256, pipelining: 1 });
    // --redis / REDIS_URL replace the address only: TLS and credentials of the config stay.
    const redisEndpoint = { ...config.gateway.redis, url: options.redisUrl ?? config.gateway.redis.url };
    this.redis = connectRedis({ ...redisEndpoint, name: 'turnpike-edge', failFast: true });
    const keyPrefix = options.keyPrefix ?? config.gateway.redis.keyPrefix;
    const keys = new RedisKeys(keyPrefix);
    this.traffic = new TrafficControl({ gateway: config.gateway, redis: this.redis, keys, logger: this.logger, clock: options.clock });
    const userObserver = options.observer ?? null;
    const meter = this.traffic.observe;
    const observer: RequestObserver = userObserver === null ? meter : (ctx) => (meter(ctx), userObserver(ctx));
    this.telemetry = new EdgeTelemetry(config, { agent: this.agent, redis: this.redis, logger: this.logger }, { ...options.telemetry, observer });
    // Opens its connections on the first invocation, so an edge that never calls a function pays nothing.
    this.invoker = new QueueFunctionInvoker({ redis: redisEndpoint, keyPrefix, logger: this.logger });
    const authorization = new AuthorizationService({ redis: this.redis, keys, logger: this.logger });
    this.services = { config, agent: this.agent, logger: this.logger, redis: this.redis, keys, invoker: this.invoker, metrics: this.telemetry.metrics, accessLog: this.telemetry.accessLog, authorization, traffic: this.traffic };
    this.table = RouteTable.compile(config, pipelineBuilder(this.services));
    this.websockets = WebSocketGateway.create({ config, redis: this.redis, keys, logger: this.logger, agent: this.agent, invoker: this.invoker, table: () => this.table, authorization, apiKeys: this.traffic.apiKeys, metrics: this.telemetry.metrics, accessLog: this.telemetry.accessLog });
    this.ctxServices = {
      observer: this.telemetry.observer,
      logError: (ctx, message, cause) =>
        this.logger.error({ requestId: ctx.requestId, route: ctx.routeKey, err: cause }, message),
      requestDone: () => {
        if (--this.inflight === 0 && this.drained) this.drained();
      },
    };
    this.app = uWS.App();
    this.websockets?.attach(this.app);
    this.app.any('/*', (res, req) => this.handle(res, req));
  }

  get config(): TurnpikeConfig {
    return this.options.config;
  }

  /** Replaces the served routes in one assignment; in-flight requests finish on the table they started with. */
  swapRoutes(config: TurnpikeConfig): void {
    this.services = { ...this.services, config };
    this.table = RouteTable.compile(config, pipelineBuilder(this.services));
    this.websockets?.reload(config);
  }

  async start(): Promise<this> {
    const gw = this.options.config.gateway;
    const host = this.options.host ?? gw.listen.host;
    const port = this.options.port ?? gw.listen.port;
    const group = this.options.portGroup ?? null;
    const mport = this.options.managementPort ?? gw.management.port;
    await claimPort(host, port, group);
    if (mport > 0) await claimPort(gw.management.host, mport, group, 'management port');
    await this.websockets?.start();
    this.listenSocket = await new Promise<us_listen_socket>((resolve, reject) =>
      this.app.listen(host, port, (s) => (s ? resolve(s) : reject(new Error(`edge cannot listen on ${host}:${port}`)))),
    );
    this.port = uWS.getSocketPort(this.listenSocket);
    this.portClaims.push(await advertisePortGroup(this.port, group));
    if (mport >= 0) {
      this.management = await startManagement({
        host: gw.management.host,
        port: mport,
        ready: () => this.readiness(),
        metrics: this.telemetry.prometheus,
      });
      this.portClaims.push(await advertisePortGroup(this.management.port, group));
    }
    this.logger.info({ port: this.port, managementPort: this.management?.port, apis: this.table.apis.length }, 'edge listening');
    return this;
  }

  get managementPort(): number {
    return this.management?.port ?? -1;
  }

  private async readiness(): Promise<{ ok: boolean; checks: Record<string, string> }> {
    const checks: Record<string, string> = { config: 'loaded' };
    let ok = !this.draining;
    if (this.draining) checks.edge = 'draining';
    try {
      await Promise.race([this.redis.ping(), new Promise((_, rej) => setTimeout(() => rej(new Error('timeout')), 500))]);
      checks.redis = 'ok';
    } catch (err) {
      checks.redis = `unreachable: ${(err as Error).message}`;
      ok = false;
    }
    return { ok, checks };
  }

  /**
   * Graceful stop: stop accepting connections, let in-flight requests finish for up to `graceMs`, then
   * close everything. Resolves true if every request finished in time.
   */
  async stop(graceMs = this.options.config.gateway.shutdownGraceMs): Promise<boolean> {
    this.draining = true;
    if (this.listenSocket) {
      uWS.closeSocket(this.listenSocket);
      this.listenSocket = null;
    }
    this.logger.info({ inflight: this.inflight, graceMs }, 'edge draining: listener closed');
    await this.websockets?.stop(graceMs);
    let clean = true;
    if (this.inflight > 0) {
      clean = await new Promise<boolean>((resolve) => {
        const t = setTimeout(() => resolve(false), graceMs);
        this.drained = () => {
          clearTimeout(t);
          resolve(true);
        };
      });
    }
    this.app.close();
    await this.management?.close();
    await Promise.all(this.portClaims.map((c) => c.release()));
    await this.agent.close().catch(() => {});
    await this.telemetry.close();
    await this.invoker.close();
    await this.traffic.close();
    this.redis.disconnect();
    this.logger.info({ clean }, 'edge stopped');
    return clean;
  }

  // ---- the request path --------------------------------------------------------------------------

  private handle(res: HttpResponse, req: HttpRequest): void {
    const method = req.getCaseSensitiveMethod();
    const rawPath = req.getUrl();
    const query = req.getQuery() ?? '';
    const headers: Record<string, string> = {};
    const rawHeaders: string[] = [];
    req.forEachHeader((k, v) => {
      rawHeaders.push(k, v);
      const prev = headers[k];
      headers[k] = prev === undefined ? v : prev + (k === 'cookie' ? '; ' : ', ') + v;
    });
    const hostHeader = headers.host ?? '';
    const colon = hostHeader.lastIndexOf(':');
    const host = (colon > 0 && hostHeader.indexOf(']') < colon ? hostHeader.slice(0, colon) : hostHeader).toLowerCase();
    const sourceIp = Buffer.from(res.getRemoteAddressAsText()).toString();
    const requestId = randomUUID();

    const norm = normalizePath(rawPath);
    const table = this.table;
    const resolved = 'error' in norm ? null : table.resolve(host, norm.segments);
    const ctx = new RequestContext(
      res,
      this.ctxServices,
      requestId,
      method,
      'error' in norm ? rawPath : norm.path,
      'error' in norm ? EMPTY : norm.segments,
      query,
      headers,
      rawHeaders,
      host,
      sourceIp,
      resolved ? resolved.api : NO_API,
      resolved ? resolved.stage : NO_STAGE,
      resolved ? resolved.offset : 0,
    );
    this.inflight++;
    if (this.telemetry.tracer !== null) ctx.trace = this.telemetry.startTrace(ctx);
    res.onAborted(() => ctx.handleAbort());

    if ('error' in norm) return ctx.sendError(400, 'Bad Request', null, norm.error);

    const cl = headers['content-length'];
    const limit = this.options.config.gateway.maxBodyBytes;
    if (cl !== undefined) {
      const n = Number(cl);
      if (!Number.isSafeInteger(n) || n < 0) return ctx.sendError(400, 'Bad Request', null, 'invalid content-length');
      if (n > limit) return ctx.sendError(413, 'Request Entity Too Large');
      if (n > 0) ctx.body = new RequestBody(res, limit, () => ctx.sendError(413, 'Request Entity Too Large'));
    } else if (headers['transfer-encoding'] !== undefined) {
      ctx.body = new RequestBody(res, limit, () => ctx.sendError(413, 'Request Entity Too Large'));
    }

    if (!resolved) return ctx.sendError(404, 'Not Found');
    if (this.websockets !== null && resolved.api.config.type === 'websocket') return this.websockets.handleHttp(ctx, rawPath);
    const pre = resolved.api.preRoute;
    if (pre.length === 0) this.route(ctx);
    else runStages(ctx, pre, 0, this.routeStep);
  }

  private readonly routeStep = (ctx: RequestContext): void => this.route(ctx);

  private route(ctx: RequestContext): void {
    const m = ctx.api.trie.match(ctx.method, ctx.segments, ctx.routeOffset);
    if (m === null) return ctx.sendError(404, 'Not Found');
    if ('allow' in m) return ctx.sendError(405, 'Method Not Allowed', ['allow', m.allow]);
    ctx.route = m.route;
    ctx.params = m.params;
    ctx.greedyStart = m.greedyStart;
    runStages(ctx, m.route.stages, 0, null);
  }
}

/** Placeholders for requests that match no API, so every request has the same context shape. */
const NO_API: CompiledApi = {
  id: '-',
  name: '-',
  config: { name: '-', type: 'rest', basePath: '/', hosts: [], stages: {}, routes: {}, binaryMediaTypes: [], authorizers: {} } as ApiConfig,
  basePathSegments: [],
  stages: new Map(),
  defaultStage: null,
  trie: new RouteTrie(),
  preRoute: [],
};
const NO_STAGE: ApiStage = { name: '-', variables: {}, isDefault: false };
const EMPTY: readonly string[] = [];

