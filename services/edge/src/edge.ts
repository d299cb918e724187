import { randomUUID } from 'node:crypto';
import { newRequestId } from './http/requestIds.js';
import uWS from 'uWebSockets.js';
import type { HttpRequest, HttpResponse, TemplatedApp, us_listen_socket } from 'uWebSockets.js';
import type { Agent } from 'undici';
import pino, { type Logger } from 'pino';
import type { ApiConfig, TurnpikeConfig } from '@turnpike/config';
import { connectRedis, NodeHeartbeat, NodeHeartbeats, RedisKeys, whenConnected, type RedisClient } from '@turnpike/redis';
import { hostname } from 'node:os';
import { QueueFunctionInvoker } from './services/invoker/queueInvoker.js';
import { ClientResponse } from './http/clientResponse.js';
import { hostOf } from './http/hostHeader.js';
import { clientAddress } from './http/forwarded.js';
import { REST_GATEWAY_RESPONSES } from './http/gatewayResponses.js';
import { normalizePath } from './http/normalizePath.js';
import type { BodyLimits } from './http/requestBody.js';
import { ambiguousFraming } from './http/requestHead.js';
import { RequestContext, type ContextServices, type RequestObserver } from './pipeline/context.js';
import { pipelineBuilder, runStages, type EdgeServices } from './pipeline/pipeline.js';
import { AuthorizationService } from './services/authorization/authorizationService.js';
import { RouteTable, type ApiStage, type CompiledApi } from './router/routeTable.js';
import { RouteTrie } from './router/routeTrie.js';
import { startManagement, type ManagementServer } from './management/server.js';
import { advertisePortGroup, claimPort, type PortClaim } from './listen/portClaim.js';
import { EdgeTelemetry, type TelemetryOptions } from './observe/edgeTelemetry.js';
import { TrafficControl } from './services/traffic/trafficControl.js';
import { WebSocketGateway } from './websocket/gateway.js';
import { ControlFollower } from './control/follower.js';
import { UpstreamPools } from './integrations/httpProxy/http1/upstreamPool.js';
import { UpstreamAgent } from './integrations/httpProxy/upstreamAgent.js';

export interface EdgeOptions {
  config: TurnpikeConfig;
  /** Overrides config.gateway.listen.port; 0 picks a free port. */
  port?: number;
  host?: string;
  /** How often this node writes its heartbeat record (default 2 s). */
  heartbeatMs?: number;
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
  /** Serve the APIs of the control plane in this Redis instead of the config's (as `gateway.control` does; docs/versions.md). */
  control?: { pollMs?: number };
  /**
   * Edges started with the same group may share a port (SO_REUSEPORT); without one, an edge refuses a
   * port that is in use (listen/portClaim.ts).
   */
  portGroup?: string | null;
}

/**
 * What the request path reads from one config, swapped by `swapRoutes` in one assignment: a request
 * reads the snapshot once when it arrives and never sees half of an old config and half of a new one.
 */
interface Serving {
  readonly config: TurnpikeConfig;
  readonly table: RouteTable;
  readonly body: BodyLimits;
  readonly maxHeaderBytes: number;
}

/** The longest Edge.start waits for its Redis connections (a refused connection is not waited for). */
const REDIS_START_WAIT_MS = 10_000;

/** A running edge node. Built from a config object; several can run in one process. */
export class Edge {
  readonly logger: Logger;
  readonly redis: RedisClient;
  readonly telemetry: EdgeTelemetry;
  readonly invoker: QueueFunctionInvoker;
  readonly traffic: TrafficControl;
  /** WebSocket APIs, the connection registry and @connections; null when the config has no WebSocket API. */
  readonly websockets: WebSocketGateway | null;
  private serving: Serving;
  private readonly app: TemplatedApp;
  private readonly agent: UpstreamAgent;
  private readonly upstreams: UpstreamPools;
  private services: EdgeServices;
  private readonly ctxServices: ContextServices;
  private listenSocket: us_listen_socket | null = null;
  private management: ManagementServer | null = null;
  private heartbeat: NodeHeartbeat | null = null;
  /** Follows the control plane when `options.control` or `gateway.control.enabled` says so. */
  control: ControlFollower | null = null;
  private portClaims: PortClaim[] = [];
  private inflight = 0;
  private drained: (() => void) | null = null;
  private draining = false;
  port = -1;

  constructor(private readonly options: EdgeOptions) {
    const { config } = options;
    this.logger = options.logger ?? pino({ name: 'turnpike-edge' });
    this.agent = new UpstreamAgent({ keepAliveTimeout: 30_000, keepAliveMaxTimeout: 600_000, connections: 256, pipelining: 1 });
    // The plain proxy path's client: the Agent's pool limits, undici's default connect timeout and head size limit.
    this.upstreams = new UpstreamPools({ connections: 256, keepAliveTimeoutMs: 30_000, keepAliveMaxTimeoutMs: 600_000, connectTimeoutMs: 10_000, maxHeadBytes: 16_384 });
    // --redis / REDIS_URL replace the address only: TLS and credentials of the config stay.
    const redisEndpoint = { ...config.gateway.redis, url: options.redisUrl ?? config.gateway.redis.url };
    this.redis = connectRedis({ ...redisEndpoint, name: 'turnpike-edge', failFast: true, requestTimeoutMs: config.gateway.redis.timeoutMs });
    const keyPrefix = options.keyPrefix ?? config.gateway.redis.keyPrefix;
    const keys = new RedisKeys(keyPrefix);
    this.traffic = new TrafficControl({ gateway: config.gateway, redis: this.redis, keys, logger: this.logger, clock: options.clock });
    const userObserver = options.observer ?? null;
    const meter = this.traffic.observe;
    const observer: RequestObserver = userObserver === null ? meter : (ctx) => (meter(ctx), userObserver(ctx));
    this.telemetry = new EdgeTelemetry(config, { upstreamSockets: () => openSockets(this.agent.made) + this.upstreams.openSockets, redis: this.redis, logger: this.logger }, {
      ...options.telemetry,
      observer,
      metricsRead: (options.managementPort ?? config.gateway.management.port) >= 0,
    });
    // Opens its connections on the first invocation, so an edge that never calls a function pays nothing.
    this.invoker = new QueueFunctionInvoker({ redis: redisEndpoint, keyPrefix, logger: this.logger, timeoutMs: config.gateway.redis.timeoutMs });
    const authorization = new AuthorizationService({ redis: this.redis, keys, logger: this.logger });
    this.services = { config, agent: this.agent, upstreams: this.upstreams, logger: this.logger, redis: this.redis, keys, invoker: this.invoker, metrics: this.telemetry.metrics, accessLog: this.telemetry.accessLog, authorization, traffic: this.traffic };
    this.serving = serving(config, this.services);
    const followsControl = options.control !== undefined || config.gateway.control.enabled;
    this.websockets = WebSocketGateway.create({ config, redis: this.redis, keys, logger: this.logger, agent: this.agent, invoker: this.invoker, table: () => this.serving.table, authorization, apiKeys: this.traffic.apiKeys, metrics: this.telemetry.metrics, accessLog: this.telemetry.accessLog, followsControl });
    this.ctxServices = {
      observer: this.telemetry.observer,
      logError: (ctx, message, cause) =>
        this.logger.error({ requestId: ctx.requestId, route: ctx.routeKey, err: cause }, message),
      requestDone: () => {
        if (--this.inflight === 0 && this.drained) this.drained();
      },
      draining: false,
      port: -1,
      trustedProxyHops: config.gateway.trustedProxyHops,
    };
    this.app = uWS.App();
    this.websockets?.attach(this.app);
    this.app.any('/*', (res, req) => this.handle(res, req));
  }

  /** The config being served (the latest one given to `swapRoutes`). */
  get config(): TurnpikeConfig {
    return this.serving.config;
  }

  /**
   * Serves `config` from now on: routes, stages and the request limits (body, header, timeouts) are
   * swapped in one assignment; in-flight requests finish on the snapshot they started with. Listen
   * addresses, Redis, telemetry exporters and the Redis guard settings are read once at construction.
   */
  swapRoutes(config: TurnpikeConfig): void {
    const services = { ...this.services, config };
    const next = serving(config, services);
    this.services = services;
    this.serving = next;
    this.websockets?.reload(config);
  }

  async start(): Promise<this> {
    const gw = this.serving.config.gateway;
    const host = this.options.host ?? gw.listen.host;
    const port = this.options.port ?? gw.listen.port;
    const group = this.options.portGroup ?? null;
    const mport = this.options.managementPort ?? gw.management.port;
    await claimPort(host, port, group);
    if (mport > 0) await claimPort(gw.management.host, mport, group, 'management port');
    // Listening means ready: the first requests must not find the Redis connections still opening (on a
    // Cluster, a request path's command for a node not yet connected is refused, and a control-plane edge
    // would load no deployment). An unreachable Redis is waited for at most this long, then reported.
    const functions = Object.keys(this.serving.config.functions).length > 0;
    const connected = await Promise.all([whenConnected(this.redis, REDIS_START_WAIT_MS), functions ? this.invoker.connect(REDIS_START_WAIT_MS) : true]);
    if (!connected.every(Boolean)) this.logger.warn({ event: 'redis_not_ready_at_start' }, 'starting without a ready Redis connection: /readyz reports it until Redis answers');
    this.traffic.spend.start();
    await this.websockets?.start();
    const control = this.options.control ?? (gw.control.enabled ? { pollMs: gw.control.pollMs } : null);
    if (control) {
      const onReload = (revision: number, ok: boolean) => this.telemetry.metrics?.gateway.controlReload(revision, ok);
      this.control = await new ControlFollower({ ...control, redis: this.redis, keys: this.services.keys, base: this.options.config, apply: (c) => this.swapRoutes(c), logger: this.logger, onReload }).start();
    }
    this.listenSocket = await new Promise<us_listen_socket>((resolve, reject) =>
      this.app.listen(host, port, (s) => (s ? resolve(s) : reject(new Error(`edge cannot listen on ${host}:${port}`)))),
    );
    this.port = uWS.us_socket_local_port(this.listenSocket);
    this.ctxServices.port = this.port;
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
    this.startHeartbeat(gw.management.host);
    this.logger.info({ port: this.port, managementPort: this.management?.port, apis: this.serving.table.apis.length }, 'edge listening');
    return this;
  }

  get managementPort(): number {
    return this.management?.port ?? -1;
  }

  /** This node's record in Redis (`nodes:{all}`): what the console's Nodes page shows and where the control service scrapes /metrics. */
  private startHeartbeat(managementHost: string): void {
    const host = managementHost === '0.0.0.0' || managementHost === '::' ? hostname() : managementHost.includes(':') ? `[${managementHost}]` : managementHost;
    const node = { id: this.websockets?.nodeId ?? randomUUID(), kind: 'edge' as const, managementUrl: this.management ? `http://${host}:${this.management.port}` : null };
    const state = async () => {
      const r = await this.readiness();
      const readiness = Object.entries(r.checks).map(([k, v]) => `${k}: ${v}`).join('; ');
      return { revision: this.control?.revision ?? -1, connections: this.websockets?.connectionCount ?? 0, ready: r.ok, readiness };
    };
    const onError = (err: unknown) => this.logger.warn({ err }, 'node heartbeat failed; retrying on the next one');
    this.heartbeat = new NodeHeartbeat(new NodeHeartbeats(this.redis, this.services.keys), node, state, this.options.heartbeatMs, onError).start();
  }

  private async readiness(): Promise<{ ok: boolean; checks: Record<string, string> }> {
    const checks: Record<string, string> = { config: 'loaded' };
    let ok = !this.draining;
    if (this.control) {
      const c = this.control.readiness();
      checks.control = c.detail;
      ok &&= c.ok;
    }
    if (this.draining) checks.edge = 'draining';
    if (this.websockets) {
      const subscribed = this.websockets.subscribed;
      checks.websocketBus = subscribed ? 'subscribed' : 'not subscribed';
      ok &&= subscribed;
    }
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
  async stop(graceMs = this.serving.config.gateway.shutdownGraceMs): Promise<boolean> {
    // First: the fleet stops listing (and the control service stops scraping) this node before it closes.
    await this.heartbeat?.stop();
    this.draining = true;
    // Keep-alive clients learn from their next response to go elsewhere.
    this.ctxServices.draining = true;
    if (this.listenSocket) {
      uWS.us_listen_socket_close(this.listenSocket);
      this.listenSocket = null;
    }
    this.logger.info({ inflight: this.inflight, graceMs }, 'edge draining: listener closed');
    await this.websockets?.stop(graceMs);
    await this.control?.close();
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
    await this.agent.made?.close().catch(() => {});
    this.upstreams.close();
    await this.telemetry.close();
    await this.invoker.close();
    await this.traffic.close();
    this.redis.disconnect();
    this.logger.info({ clean }, 'edge stopped');
    return clean;
  }

  // ---- the request path --------------------------------------------------------------------------

  private handle(res: HttpResponse, req: HttpRequest): void {
    const requestId = newRequestId();
    const out = new ClientResponse(res);
    let ctx: RequestContext | null = null;
    try {
      const serving = this.serving;
      const method = req.getCaseSensitiveMethod();
      const rawPath = req.getUrl();
      const query = req.getQuery() ?? '';
      const head = this.head;
      const headers: Record<string, string> = (head.headers = {});
      const rawHeaders: string[] = (head.raw = []);
      // The request line and header bytes as received ("GET /p?q HTTP/1.1\r\n", "name: value\r\n", "\r\n").
      head.bytes = method.length + rawPath.length + (query ? query.length + 1 : 0) + 13;
      req.forEach(this.collectHeader);
      const headBytes = head.bytes;
      const framing = ambiguousFraming(rawHeaders);
      const host = hostOf(headers.host);
      const peerIp = out.remoteAddress();
      const sourceIp = clientAddress(peerIp, headers['x-forwarded-for'], this.ctxServices.trustedProxyHops);

      const norm = normalizePath(rawPath);
      const table = serving.table;
      const resolved = 'error' in norm || host === null ? null : table.resolve(host, norm.segments);
      ctx = new RequestContext({
        res: out,
        services: this.ctxServices,
        requestId,
        method,
        path: 'error' in norm ? rawPath : norm.path,
        segments: 'error' in norm ? EMPTY : norm.segments,
        query,
        headers,
        rawHeaders,
        host: host ?? '',
        sourceIp,
        api: resolved ? resolved.api : NO_API,
        stage: resolved ? resolved.stage : NO_STAGE,
        routeOffset: resolved ? resolved.offset : 0,
      });
      ctx.peerIp = peerIp;
      this.inflight++;
      if (this.telemetry.tracer !== null) ctx.trace = this.telemetry.startTrace(ctx);

      // Refusals of a head the edge cannot trust close the connection: nothing after it is read as a request.
      // Framing another hop could read differently (http/requestHead.ts) is answered on the next turn.
      if (framing !== null) {
        const refused = ctx;
        setImmediate(() => this.refuse(refused, 400, 'Bad Request', framing));
        return;
      }
      if (headBytes > serving.maxHeaderBytes) return this.refuse(ctx, 431, 'Request Header Fields Too Large', `request line and headers exceed ${serving.maxHeaderBytes} bytes`);
      if (host === null) return this.refuse(ctx, 400, 'Bad Request', 'invalid Host header');
      const cl = headers['content-length'];
      const te = headers['transfer-encoding'];
      if (cl !== undefined && te !== undefined) return this.refuse(ctx, 400, 'Bad Request', 'both content-length and transfer-encoding');
      const limits = serving.body;
      if (cl !== undefined) {
        const n = Number(cl);
        if (!/^\d+$/.test(cl) || !Number.isSafeInteger(n)) return this.refuse(ctx, 400, 'Bad Request', 'invalid content-length');
        if (n > limits.maxBytes) {
          ctx.closeConnection = true;
          return ctx.gatewayError('REQUEST_TOO_LARGE', `declared body of ${n} bytes exceeds ${limits.maxBytes}`);
        }
        if (n > 0) ctx.attachBody(limits);
      } else if (te !== undefined) {
        ctx.attachBody(limits);
      }

      if ('error' in norm) {
        ctx.gatewayErrorStatus(400, 'Bad Request', norm.error);
        return;
      }
      if (!resolved) {
        ctx.gatewayError('RESOURCE_NOT_FOUND', 'no API or stage at this host and path');
        return;
      }
      if (this.websockets !== null && resolved.api.config.type === 'websocket') {
        this.websockets.handleHttp(ctx, rawPath);
        return;
      }
      const pre = resolved.api.preRoute;
      if (pre.length === 0) this.route(ctx);
      else runStages(ctx, pre, 0, this.routeStep);
    } catch (err) {
      // Whatever escapes belongs to this request: answered 500 and logged with its id, never the process.
      if (ctx !== null) ctx.contain(err);
      else this.refuseUnparsed(out, requestId, err);
    }
  }

  private refuse(ctx: RequestContext, status: number, message: string, reason: string): void {
    ctx.closeConnection = true;
    ctx.gatewayErrorStatus(status, message, reason);
  }

  /** An exception before the request had a context: answer 500 on the raw response and close. */
  private refuseUnparsed(res: ClientResponse, requestId: string, err: unknown): void {
    this.logger.error({ requestId, err }, 'request failed before it was parsed');
    try {
      res.cork(() => {
        res.writeStatus('500 Internal Server Error');
        res.writeHeader('x-amzn-RequestId', requestId);
        res.writeHeader('content-type', 'application/json');
        res.writeHeader('x-amzn-ErrorType', 'InternalServerErrorException');
        res.end('{"message":"Internal server error"}', true);
      });
    } catch (inner) {
      this.logger.error({ requestId, err: inner }, 'could not answer a failed request');
    }
  }

  private readonly routeStep = (ctx: RequestContext): void => this.route(ctx);

  /** The request head being copied out of uWS: `forEach` calls back synchronously, so one serves every request. */
  private readonly head: { headers: Record<string, string>; raw: string[]; bytes: number } = { headers: {}, raw: [], bytes: 0 };
  /** The header callback, made once rather than a closure per request. */
  private readonly collectHeader = (k: string, v: string): void => {
    const head = this.head;
    head.raw.push(k, v);
    head.bytes += k.length + v.length + 4;
    const headers = head.headers;
    const prev = headers[k];
    headers[k] = prev === undefined ? v : prev + (k === 'cookie' ? '; ' : ', ') + v;
  };

  private route(ctx: RequestContext): void {
    const m = ctx.api.trie.match(ctx.method, ctx.segments, ctx.routeOffset);
    // An unknown path and a known path without the method are the same answer on AWS: REST APIs say
    // 403 Missing Authentication Token, HTTP APIs 404 Not Found (the API's kind decides; gatewayResponses.ts).
    if (m === null || 'allow' in m) return ctx.gatewayError('MISSING_AUTHENTICATION_TOKEN', m === null ? 'no route for this path' : `no route for ${ctx.method} on this path`);
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
  kind: 'rest',
  responses: REST_GATEWAY_RESPONSES,
  config: { name: '-', type: 'rest', basePath: '/', hosts: [], stages: {}, routes: {}, binaryMediaTypes: [], authorizers: {} } as ApiConfig,
  basePathSegments: [],
  stages: new Map(),
  defaultStage: null,
  trie: new RouteTrie(),
  preRoute: [],
};
const NO_STAGE: ApiStage = { name: '-', variables: {}, isDefault: false, isCanary: false, canary: null };
const EMPTY: readonly string[] = [];

function serving(config: TurnpikeConfig, services: EdgeServices): Serving {
  const gw = config.gateway;
  return {
    config,
    table: RouteTable.compile(config, pipelineBuilder(services)),
    body: { maxBytes: gw.maxBodyBytes, bufferBytes: Math.min(gw.bodyBufferBytes, gw.maxBodyBytes), timeoutMs: gw.bodyTimeoutMs },
    maxHeaderBytes: gw.maxHeaderBytes,
  };
}


/** Open undici sockets (none before a route needed the Agent): an origin is served by a Pool (a count of sockets) or, with connections: 1, a single Client (a flag). */
function openSockets(agent: Agent | null): number {
  if (agent === null) return 0;
  let n = 0;
  for (const s of Object.values(agent.stats)) n += typeof s.connected === 'number' ? s.connected : s.connected ? 1 : 0;
  return n;
}
