import { randomBytes, randomUUID } from 'node:crypto';
import uWS from 'uWebSockets.js';
import type { HttpRequest, HttpResponse, TemplatedApp, WebSocket, WebSocketBehavior, us_socket_context_t } from 'uWebSockets.js';
import type { Agent } from 'undici';
import type { Logger } from 'pino';
import type { Redis } from 'ioredis';
import type { TurnpikeConfig } from '@turnpike/config';
import type { RedisKeys } from '@turnpike/redis';
import type { FunctionInvoker } from '../integrations/function/invoker.js';
import { FunctionInvokeError } from '../integrations/function/invoker.js';
import { normalizePath } from '../http/normalizePath.js';
import { statusLine } from '../http/statusLine.js';
import type { RequestContext } from '../pipeline/context.js';
import type { RouteTable } from '../router/routeTable.js';
import type { ApiKeyCache } from '../stages/apiKey/apiKeyCache.js';
import type { EdgeMetrics } from '../observe/edgeMetrics.js';
import type { AccessLog } from '../observe/edgeTelemetry.js';
import type { AuthorizationService } from '../stages/authorize/index.js';
import { NodeBus, OP_CLOSE, OP_SEND, OP_SUBSCRIBE, OP_UNSUBSCRIBE, packEnvelope, type ConnectionEnvelope, type Op, type TopicEnvelope } from './bus.js';
import { compileWebSocketApis, type CompiledWebSocketApi, type CompiledWsRoute } from './compiledApi.js';
import { Connection } from './connection.js';
import { CredentialStore } from './credentials.js';
import { buildEvent, handshakeOf, type Handshake } from './events.js';
import { WsIntegrationError, type WsResult } from './integrations.js';
import { handleManagementRequest } from './managementApi.js';
import { BREACH_REASON, type LimitBreach } from './messageLimits.js';
import { ConnectionRegistry } from './registry.js';

export interface WebSocketGatewayOptions {
  readonly config: TurnpikeConfig;
  readonly redis: Redis;
  readonly keys: RedisKeys;
  readonly logger: Logger;
  readonly agent: Agent;
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
}

/** Close codes sent to clients. */
const CLOSE_GOING_AWAY = 1001;
const CLOSE_TOO_BIG = 1009;
const CLOSE_POLICY_VIOLATION = 1008;

/**
 * The WebSocket side of an edge node: upgrades for `type: websocket` APIs, routing of messages to
 * integrations, the connection registry, node-to-node delivery, topics and the @connections API.
 * Built only when the config has a WebSocket API.
 */
export class WebSocketGateway {
  private apis: Map<string, CompiledWebSocketApi>;
  private readonly local = new Map<string, Connection>();
  /** Connections open on this node (the node's heartbeat reports it). */
  get connectionCount(): number {
    return this.local.size;
  }
  readonly nodeId = randomUUID();
  readonly registry: ConnectionRegistry;
  readonly credentials: CredentialStore;
  private readonly bus: NodeBus;
  private app: TemplatedApp | null = null;
  private readonly pending = new Set<Promise<unknown>>();
  private timers: NodeJS.Timeout[] = [];
  private draining = false;
  /** The connection uWS opened inside the `res.upgrade` call still on the stack (see onOpen). */
  private opening: Connection | null = null;
  /** Messages uWS dropped for slow consumers (drop policy). */
  dropped = 0;

  static create(options: WebSocketGatewayOptions): WebSocketGateway | null {
    return options.config.apis.some((a) => a.type === 'websocket') ? new WebSocketGateway(options) : null;
  }

  private constructor(private readonly options: WebSocketGatewayOptions) {
    this.apis = this.compile(options.config);
    const node = options.config.gateway.websocket;
    this.registry = new ConnectionRegistry(options.redis, options.keys, this.nodeId, node, options.logger, () => this.local.values(), (op) => options.metrics?.webSocketRegistryWriteFailure(op));
    this.credentials = new CredentialStore(options.redis, options.keys);
    this.bus = new NodeBus(
      options.redis,
      this.registry.inbox,
      options.keys.tagged('wstopics', 'all'),
      (e) => this.onEnvelope(e),
      (e) => {
        if (e.n !== this.nodeId) this.app?.publish(e.t, e.d, e.b);
      },
      options.logger,
    );
  }

  private compile(config: TurnpikeConfig): Map<string, CompiledWebSocketApi> {
    return compileWebSocketApis(config, this.options.table().apis, this.options);
  }

  /** New routes after `Edge.swapRoutes`; open connections keep the API they connected to. */
  reload(config: TurnpikeConfig): void {
    this.apis = this.compile(config);
  }

  /** Registers the WebSocket behavior on the edge's uWS app (one app per edge; upgrades only). */
  attach(app: TemplatedApp): void {
    this.app = app;
    const node = this.options.config.gateway.websocket;
    let maxMessage = 0;
    for (const a of this.apis.values()) maxMessage = Math.max(maxMessage, a.limits.maxMessageBytes);
    const behavior: WebSocketBehavior<Connection> = {
      // uWS cuts off a bigger frame without a close frame (1006) before buffering it; up to 4x the API
      // limit the message is read and refused with 1009, so clients see why.
      maxPayloadLength: maxMessage * 4,
      // uWS's own timeout only detects dead peers (it pings); the API's idle timeout counts data messages.
      idleTimeout: 120,
      sendPingsAutomatically: true,
      maxBackpressure: node.maxBufferedBytes,
      closeOnBackpressureLimit: node.slowConsumerPolicy === 'disconnect',
      compression: uWS.DISABLED,
      upgrade: (res, req, context) => this.upgrade(res, req, context),
      open: (ws) => this.onOpen(ws),
      message: (ws, message, isBinary) => this.onMessage(ws, message, isBinary),
      close: (ws, code, message) => this.onClose(ws, code, message),
    };
    app.ws('/*', behavior);
  }

  /**
   * Subscribes to this node's inbox and the topics channel (waiting up to 5 s: an edge whose Redis is
   * down still starts, reports not ready, and subscribes once Redis is back), then heartbeats.
   */
  async start(): Promise<void> {
    let timer: NodeJS.Timeout | undefined;
    const subscribed = await Promise.race([
      this.bus.start().then(
        () => true,
        (err: unknown) => (this.options.logger.warn({ err }, 'websocket bus: subscribe failed'), false),
      ),
      new Promise<boolean>((resolve) => (timer = setTimeout(() => resolve(false), 5_000))),
    ]);
    clearTimeout(timer);
    if (!subscribed) this.options.logger.warn('websocket bus: Redis not reachable yet; cross-node delivery starts once it is');
    const node = this.options.config.gateway.websocket;
    const heartbeat = () => {
      this.registry.heartbeat().catch((err: unknown) => this.options.logger.warn({ err }, 'websocket registry: heartbeat failed'));
    };
    heartbeat();
    const beat = setInterval(heartbeat, node.heartbeatMs);
    let minIdle = Infinity;
    for (const a of this.apis.values()) minIdle = Math.min(minIdle, a.limits.idleTimeoutMs, a.limits.maxConnectionDurationMs);
    const sweep = setInterval(() => this.sweep(), Math.max(250, Math.min(5_000, minIdle / 4)));
    beat.unref();
    sweep.unref();
    this.timers = [beat, sweep];
  }

  /** Closes every connection with 1001, runs their `$disconnect` (up to graceMs), and leaves the registry. */
  async stop(graceMs: number): Promise<void> {
    this.draining = true;
    for (const t of this.timers) clearInterval(t);
    for (const c of [...this.local.values()]) c.ws?.end(CLOSE_GOING_AWAY, 'Going away');
    if (this.pending.size) {
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([Promise.allSettled([...this.pending]), new Promise((r) => (timer = setTimeout(r, graceMs)))]);
      clearTimeout(timer);
    }
    await this.registry.leave().catch((err: unknown) => this.options.logger.warn({ err }, 'websocket registry: leave failed'));
    await this.bus.close();
  }

  // ---- handshake ----------------------------------------------------------------------------------

  private upgrade(res: HttpResponse, req: HttpRequest, context: us_socket_context_t): void {
    const url = req.getUrl();
    const hostHeader = req.getHeader('host');
    const colon = hostHeader.lastIndexOf(':');
    const host = (colon > 0 && hostHeader.indexOf(']') < colon ? hostHeader.slice(0, colon) : hostHeader).toLowerCase();
    const norm = normalizePath(url);
    const resolved = 'error' in norm ? null : this.options.table().resolve(host, norm.segments);
    const api = resolved && resolved.api.config.type === 'websocket' ? this.apis.get(resolved.api.id) : undefined;
    if (!resolved || !api) {
      // Not a WebSocket API: the HTTP pipeline answers it like any other request.
      req.setYield(true);
      return;
    }
    if (resolved.offset !== (norm as { segments: string[] }).segments.length) return reject(res, 404, 'Not Found');
    if (this.draining) return reject(res, 503, 'Service Unavailable');
    const key = req.getHeader('sec-websocket-key');
    // A client may offer several subprotocols; without a choice by `$connect`, the first one is taken.
    const protocol = req.getHeader('sec-websocket-protocol').split(',')[0]!.trim();
    const extensions = req.getHeader('sec-websocket-extensions');
    const sourceIp = Buffer.from(res.getRemoteAddressAsText()).toString();
    const id = randomBytes(16).toString('base64');
    if (api.connect === null && api.guard === null) {
      const conn = new Connection(id, api, resolved.stage, Date.now(), sourceIp, req.getHeader('user-agent'), hostHeader);
      res.upgrade(conn, key, protocol, extensions, context);
      this.opened();
      return;
    }
    const rawHeaders: string[] = [];
    req.forEach((k, v) => rawHeaders.push(k, v));
    const query = req.getQuery() ?? '';
    const handshake = handshakeOf(rawHeaders, query);
    let aborted = false;
    res.onAborted(() => (aborted = true));
    const conn = new Connection(id, api, resolved.stage, Date.now(), sourceIp, handshake.headers['user-agent'] ?? '', hostHeader);
    const requestId = randomUUID();
    const done = this.connect(conn, requestId, handshake, rawHeaders, query, url).then(
      (outcome) => {
        if (aborted) return;
        if (outcome !== null) {
          this.options.metrics?.webSocketClientError(api.id, conn.stage.name, '$connect');
          this.log(conn, 'CONNECT', '$connect', requestId, conn.connectedAt, outcome.refuse, null, outcome.reason);
          return reject(res, outcome.refuse, outcome.message, outcome.body);
        }
        if (this.draining) return reject(res, 503, 'Service Unavailable');
        this.log(conn, 'CONNECT', '$connect', requestId, conn.connectedAt, 200, null, null);
        res.cork(() => res.upgrade(conn, key, conn.protocol ?? protocol, extensions, context));
        // Only now, after uWS has finished with the corked response (see onOpen).
        this.opened();
      },
      (err: unknown) => {
        this.options.metrics?.webSocketIntegrationError(api.id, conn.stage.name, '$connect');
        this.log(conn, 'CONNECT', '$connect', requestId, conn.connectedAt, failureStatus(err), null, (err as Error).message);
        this.options.logger.error({ err, connectionId: id, route: '$connect' }, 'websocket $connect failed');
        if (!aborted) reject(res, failureStatus(err), 'Internal server error');
      },
    );
    this.track(done);
  }

  /**
   * `$connect`: API key and authorizer, then the integration, whose status accepts or refuses. Resolves
   * null to accept (the connection then carries the authorizer context, topics and subprotocol).
   */
  private async connect(conn: Connection, requestId: string, handshake: Handshake, rawHeaders: readonly string[], query: string, fullPath: string): Promise<Refusal | null> {
    const api = conn.api;
    if (api.guard !== null) {
      const admission = await api.guard.admit(conn, handshake, rawHeaders, query, fullPath, requestId);
      if ('refuse' in admission) return admission;
      conn.authorizer = admission.authorizer;
    }
    const route = api.connect;
    if (route === null) return null;
    conn.initialTopics = route.config.topics;
    const event = buildEvent(conn, '$connect', 'CONNECT', requestId, { handshake });
    const r = await route.integration.invoke({ event, stage: conn.stage, requestId, payload: null });
    if (r.statusCode < 200 || r.statusCode > 299) {
      const message = r.statusCode === 403 ? 'Forbidden' : r.statusCode === 401 ? 'Unauthorized' : 'Connection refused by the $connect route';
      return { refuse: r.statusCode, message, reason: `$connect integration answered ${r.statusCode}`, body: r.body };
    }
    if (r.subscribe) conn.initialTopics = [...route.config.topics, ...r.subscribe];
    conn.protocol = r.protocol;
    return null;
  }

  /**
   * uWS calls `open` inside `res.upgrade`, which in the asynchronous (`$connect`) path runs inside
   * `res.cork`. After the cork callback returns, uWS's HttpResponse::cork goes on treating the socket
   * as an HTTP response if the upgrade reallocated it at the same address (glibc shrinks in place):
   * it reads the HTTP response state from memory the upgrade freed, and closes the socket (1006) when
   * those bytes look like "response done, Connection: close". Any native allocation made in `open`
   * (uWS's subscriber for `ws.subscribe`, libuv write requests for the registry) can reuse that
   * memory. So `open` only records the socket; subscriptions and registration happen in opened(),
   * once `res.upgrade` / `res.cork` have returned, before any I/O can reach the connection.
   */
  private onOpen(ws: WebSocket<Connection>): void {
    const conn = ws.getUserData();
    conn.ws = ws;
    this.local.set(conn.id, conn);
    this.opening = conn;
  }

  /**
   * The rest of accepting the connection `open` just saw, right after its upgrade returned (see
   * onOpen). uWS's user data is a copy of the object given to `res.upgrade`, so the connection is the
   * one `open` recorded, not the caller's.
   */
  private opened(): void {
    const conn = this.opening;
    this.opening = null;
    const ws = conn?.ws;
    if (!conn || conn.closed || !ws) return;
    conn.accepted = true;
    conn.api.messageLimits.init(conn, Date.now());
    const topics = conn.initialTopics;
    conn.initialTopics = null;
    if (topics) for (const t of topics) ws.subscribe(topicKey(conn, t));
    this.registry.register(conn);
    this.options.metrics?.webSocketConnected(conn.api.id, conn.stage.name);
  }

  // ---- messages -----------------------------------------------------------------------------------

  private onMessage(ws: WebSocket<Connection>, message: ArrayBuffer, isBinary: boolean): void {
    const conn = ws.getUserData();
    if (conn.limited) return;
    const api = conn.api;
    const now = Date.now();
    if (message.byteLength > api.limits.maxMessageBytes) {
      this.options.metrics?.webSocketClientError(api.id, conn.stage.name, '-');
      ws.end(CLOSE_TOO_BIG, 'Message too big');
      return;
    }
    const bytes = message.byteLength;
    const breach = api.messageLimits.admit(conn, bytes, now);
    if (breach !== null) return this.closeForLimit(ws, conn, breach, now);
    conn.lastActiveAt = now;
    this.registry.touched(conn);
    // uWS neuters the buffer when this callback returns: copy what outlives it.
    const text = isBinary ? null : Buffer.from(message).toString('utf8');
    const route = api.select(text);
    const requestId = randomUUID();
    if (route === null) {
      api.messageLimits.settled(conn, bytes);
      this.options.metrics?.webSocketClientError(api.id, conn.stage.name, '-');
      this.log(conn, 'MESSAGE', '-', requestId, now, 403, null, 'no route matches the message and there is no $default route');
      this.sendLocal(conn, JSON.stringify({ message: 'Forbidden', connectionId: conn.id, requestId }), false);
      return;
    }
    this.options.metrics?.webSocketMessage(api.id, conn.stage.name, route.key);
    const payload = text ?? Buffer.from(message.slice(0));
    const messageId = randomBytes(12).toString('base64');
    const event = buildEvent(conn, route.key, 'MESSAGE', requestId, { messageId, body: text ?? (payload as Buffer).toString('base64'), isBase64Encoded: text === null });
    route.integration.invoke({ event, stage: conn.stage, requestId, payload }).then(
      (r) => {
        api.messageLimits.settled(conn, bytes);
        this.log(conn, 'MESSAGE', route.key, requestId, now, r.statusCode, messageId, null);
        this.afterIntegration(conn, route, r);
      },
      (err: unknown) => {
        api.messageLimits.settled(conn, bytes);
        this.options.metrics?.webSocketIntegrationError(api.id, conn.stage.name, route.key);
        this.log(conn, 'MESSAGE', route.key, requestId, now, failureStatus(err), messageId, (err as Error).message);
        this.options.logger.error({ err, connectionId: conn.id, route: route.key, requestId }, 'websocket route integration failed');
        this.sendLocal(conn, JSON.stringify({ message: 'Internal server error', connectionId: conn.id, requestId }), false);
      },
    );
  }

  /**
   * Closes a connection that passed a per-connection limit with 1008. One access-log line says why;
   * what the client still sends is ignored, so a flood costs neither integrations nor log lines.
   */
  private closeForLimit(ws: WebSocket<Connection>, conn: Connection, breach: LimitBreach, now: number): void {
    conn.limited = true;
    this.options.metrics?.webSocketLimitClose(conn.api.id, conn.stage.name, breach);
    this.log(conn, 'MESSAGE', '-', randomUUID(), now, 429, null, BREACH_REASON[breach]);
    ws.end(CLOSE_POLICY_VIOLATION, BREACH_REASON[breach]);
  }

  /** An access-log line for one event, when the access log is on. */
  private log(conn: Connection, eventType: 'CONNECT' | 'MESSAGE' | 'DISCONNECT', routeKey: string, requestId: string, start: number, status: number, messageId: string | null, errorMessage: string | null): void {
    const log = this.options.accessLog;
    if (log === null) return;
    log.webSocket({
      requestId,
      connectionId: conn.id,
      eventType,
      apiId: conn.api.id,
      stage: conn.stage.name,
      routeKey,
      status,
      sourceIp: conn.sourceIp,
      userAgent: conn.userAgent,
      requestTimeEpoch: start,
      responseLatency: Date.now() - start,
      messageId,
      principalId: typeof conn.authorizer?.principalId === 'string' ? conn.authorizer.principalId : null,
      authorizer: conn.authorizer,
      errorMessage,
    });
  }

  private afterIntegration(conn: Connection, route: CompiledWsRoute, r: WsResult): void {
    if (conn.closed) return;
    if (r.subscribe) for (const t of r.subscribe) conn.ws!.subscribe(topicKey(conn, t));
    if (r.unsubscribe) for (const t of r.unsubscribe) conn.ws!.unsubscribe(topicKey(conn, t));
    if (route.config.routeResponse && r.body !== null) this.sendLocal(conn, r.body, typeof r.body !== 'string');
  }

  private onClose(ws: WebSocket<Connection>, code: number, message: ArrayBuffer): void {
    const conn = ws.getUserData();
    conn.closed = true;
    conn.ws = null;
    this.local.delete(conn.id);
    if (conn.accepted) {
      this.registry.unregister(conn);
      this.options.metrics?.webSocketDisconnected(conn.api.id, conn.stage.name);
    }
    const route = conn.api.disconnect;
    const requestId = randomUUID();
    const now = Date.now();
    if (route === null) return this.log(conn, 'DISCONNECT', '$disconnect', requestId, now, 200, null, null);
    const event = buildEvent(conn, '$disconnect', 'DISCONNECT', requestId, { disconnectStatusCode: code, disconnectReason: Buffer.from(message).toString('utf8') });
    this.track(
      route.integration.invoke({ event, stage: conn.stage, requestId, payload: null }).then(
        (r) => this.log(conn, 'DISCONNECT', '$disconnect', requestId, now, r.statusCode, null, null),
        (err: unknown) => {
          this.options.metrics?.webSocketIntegrationError(conn.api.id, conn.stage.name, '$disconnect');
          this.log(conn, 'DISCONNECT', '$disconnect', requestId, now, failureStatus(err), null, (err as Error).message);
          this.options.logger.error({ err, connectionId: conn.id, route: '$disconnect' }, 'websocket $disconnect integration failed');
        },
      ),
    );
  }

  private track(p: Promise<unknown>): void {
    this.pending.add(p);
    void p.finally(() => this.pending.delete(p));
  }

  /** Idle timeout and maximum duration, checked for every local connection a few times per timeout. */
  private sweep(): void {
    const now = Date.now();
    for (const c of this.local.values()) {
      const l = c.api.limits;
      if (now - c.connectedAt >= l.maxConnectionDurationMs) c.ws?.end(CLOSE_GOING_AWAY, 'Maximum connection duration reached');
      else if (now - c.lastActiveAt >= l.idleTimeoutMs) c.ws?.end(CLOSE_GOING_AWAY, 'Idle timeout');
    }
  }

  // ---- delivery -----------------------------------------------------------------------------------

  /** Sends on a connection this node holds; false when it is gone. */
  sendLocal(conn: Connection, data: string | Buffer, isBinary: boolean): boolean {
    const ws = conn.ws;
    if (conn.closed || ws === null) return false;
    let status = 1;
    ws.cork(() => (status = ws.send(data, isBinary)));
    if (status === 2) this.dropped++;
    conn.lastActiveAt = Date.now();
    this.registry.touched(conn);
    return true;
  }

  localConnection(id: string): Connection | undefined {
    return this.local.get(id);
  }

  /**
   * Applies an operation to a connection wherever it is: here directly, elsewhere through its node's
   * inbox. Resolves false when the connection is unknown or closed (410).
   */
  async toConnection(id: string, op: Op, data: Buffer | string | null, isBinary: boolean): Promise<boolean> {
    const conn = this.local.get(id);
    if (conn) return this.applyLocal(conn, op, data, isBinary);
    const n = await this.registry.deliver(id, packEnvelope({ o: op, c: id, d: data, b: isBinary }));
    return n > 0;
  }

  private applyLocal(conn: Connection, op: Op, data: Buffer | string | null, isBinary: boolean): boolean {
    if (conn.closed || conn.ws === null) return false;
    switch (op) {
      case OP_SEND:
        return this.sendLocal(conn, data ?? '', isBinary);
      case OP_CLOSE:
        conn.ws.end(1000, 'Closed by the server');
        return true;
      case OP_SUBSCRIBE:
        conn.ws.subscribe(topicKey(conn, String(data)));
        return true;
      case OP_UNSUBSCRIBE:
        conn.ws.unsubscribe(topicKey(conn, String(data)));
        return true;
    }
  }

  private onEnvelope(e: ConnectionEnvelope): void {
    const conn = this.local.get(e.c);
    if (conn) this.applyLocal(conn, e.o, e.d, e.b);
  }

  /** One publish to a topic of an API stage reaches its subscribers on every node (uWS pub/sub on each). */
  async publish(apiId: string, stage: string, topic: string, data: Buffer | string, isBinary: boolean): Promise<void> {
    const e: TopicEnvelope = { n: this.nodeId, t: `${apiId}/${stage}/${topic}`, d: data, b: isBinary };
    // This node's subscribers get it at once; the others through the topics channel.
    this.app?.publish(e.t, data, isBinary);
    await this.bus.publishTopic(e);
  }

  // ---- the management API -------------------------------------------------------------------------

  /** HTTP requests to a WebSocket API: `@connections` and `@topics` (Edge.handle hands them here). */
  handleHttp(ctx: RequestContext, rawPath: string): void {
    const api = this.apis.get(ctx.api.id);
    if (!api) return ctx.sendError(404, 'Not Found');
    handleManagementRequest(this, ctx, rawPath).catch((err: unknown) => ctx.fail(err));
  }
}

function topicKey(conn: Connection, topic: string): string {
  return `${conn.api.id}/${conn.stage.name}/${topic}`;
}

/** A refused handshake: the HTTP status and message the client gets, and the reason for the log. */
interface Refusal {
  readonly refuse: number;
  readonly message: string;
  readonly reason: string;
  readonly body?: string | Buffer | null;
}

function failureStatus(err: unknown): number {
  if (err instanceof WsIntegrationError) return err.status;
  if (err instanceof FunctionInvokeError) return err.kind === 'integration_timeout' || err.kind === 'function_timeout' ? 504 : err.kind === 'unavailable' ? 503 : 502;
  return 500;
}

/** Refuses an upgrade with an HTTP answer (the client's handshake fails with this status). */
function reject(res: HttpResponse, status: number, message: string, body?: string | Buffer | null): void {
  res.cork(() => {
    res.writeStatus(statusLine(status));
    if (body) res.end(body);
    else res.writeHeader('content-type', 'application/json').end(JSON.stringify({ message }));
  });
}
