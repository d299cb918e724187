import { randomBytes } from 'node:crypto';
import { newRequestId } from '../http/requestIds.js';
import type { HttpRequest, HttpResponse, WebSocket, us_socket_context_t } from 'uWebSockets.js';
import type { Logger } from 'pino';
import { peerAddress } from '../http/peerAddress.js';
import { hostOf } from '../http/hostHeader.js';
import { normalizePath } from '../http/normalizePath.js';
import { statusLine } from '../http/statusLine.js';
import { wsFailureStatus } from '../integrations/webSocket.js';
import type { EdgeMetrics } from '../services/metrics/edgeMetrics.js';
import type { RouteTable } from '../router/routeTable.js';
import type { CompiledWebSocketApi } from './compiledApi.js';
import { Connection, userDataOf, type UserData } from './connection.js';
import { topicKey } from './delivery.js';
import type { WsEventLog } from './eventLog.js';
import { Interned } from './interned.js';
import { buildEvent, handshakeOf, type Handshake } from './events.js';
import type { Lifecycle } from './lifecycle.js';
import type { ConnectionRegistry } from './registry.js';

export interface HandshakeDeps {
  /** The edge's current route table (host, base path and stage resolution), as the HTTP side uses it. */
  readonly table: () => RouteTable;
  /** The current compiled WebSocket APIs, by API id. */
  readonly apis: () => ReadonlyMap<string, CompiledWebSocketApi>;
  readonly local: Map<string, Connection>;
  readonly registry: ConnectionRegistry;
  readonly lifecycle: Lifecycle;
  readonly log: WsEventLog;
  readonly logger: Logger;
  readonly metrics: EdgeMetrics | null;
}

/** An accepted `$connect`: the topics to subscribe right after the upgrade and the subprotocol chosen. */
interface Acceptance {
  readonly topics: readonly string[] | null;
  readonly protocol: string | null;
}
const ACCEPTED_AS_IS: Acceptance = { topics: null, protocol: null };

/** A refused handshake: the HTTP status and message the client gets, and the reason for the log. */
interface Refusal {
  readonly refuse: number;
  readonly message: string;
  readonly reason: string;
  readonly body?: string | Buffer | null;
}

/**
 * The upgrade of a `type: websocket` API's request: resolved to an API and stage by the same Host parser
 * and route table as HTTP requests (anything else is handed back to the HTTP pipeline), then `$connect`
 * (API key, authorizer, integration) accepts or refuses it, and the accepted connection is subscribed and
 * registered.
 */
export class Handshakes {
  /** The connection uWS opened inside the `res.upgrade` call still on the stack (see opening()). */
  private current: Connection | null = null;
  /** Host headers and user agents repeat across connections: one string each, not one per connection. */
  private readonly hosts = new Interned((raw) => raw.toLowerCase());
  private readonly userAgents = new Interned((raw) => raw);

  constructor(private readonly deps: HandshakeDeps) {}

  upgrade(res: HttpResponse, req: HttpRequest, context: us_socket_context_t): void {
    const url = req.getUrl();
    const hostHeader = req.getHeader('host');
    const host = hostOf(hostHeader);
    const norm = normalizePath(url);
    const resolved = 'error' in norm || host === null ? null : this.deps.table().resolve(host, norm.segments);
    const api = resolved && resolved.api.config.type === 'websocket' ? this.deps.apis().get(resolved.api.id) : undefined;
    if (!resolved || !api || 'error' in norm) {
      // Not a WebSocket API (or a Host or path the HTTP side refuses): the HTTP pipeline answers it.
      req.setYield(true);
      return;
    }
    if (resolved.offset !== norm.segments.length) return reject(res, 404, 'Not Found');
    const { lifecycle } = this.deps;
    if (lifecycle.draining) return reject(res, 503, 'Service Unavailable');
    const key = req.getHeader('sec-websocket-key');
    // A client may offer several subprotocols; without a choice by `$connect`, the first one is taken.
    const protocol = req.getHeader('sec-websocket-protocol').replace(/,.*$/s, '').trim();
    const extensions = req.getHeader('sec-websocket-extensions');
    const sourceIp = peerAddress(res);
    const id = randomBytes(16).toString('base64');
    const domainName = this.hosts.of(hostHeader);
    if (api.connect === null && api.guard === null) {
      const conn = new Connection(id, api, resolved.stage, Date.now(), sourceIp, this.userAgents.of(req.getHeader('user-agent')), domainName);
      res.upgrade(userDataOf(conn), key, protocol, extensions, context);
      this.opened(null);
      return;
    }
    const rawHeaders: string[] = [];
    req.forEach((k, v) => rawHeaders.push(k, v));
    const query = req.getQuery() ?? '';
    const handshake = handshakeOf(rawHeaders, query);
    let aborted = false;
    res.onAborted(() => (aborted = true));
    const conn = new Connection(id, api, resolved.stage, Date.now(), sourceIp, this.userAgents.of(handshake.lookup['user-agent'] ?? ''), domainName);
    const requestId = newRequestId();
    const { log, metrics } = this.deps;
    const done = this.connect(conn, requestId, handshake, rawHeaders, query, url).then(
      (outcome) => {
        if (aborted) return;
        if ('refuse' in outcome) {
          metrics?.webSocketClientError(api.id, conn.stage.name, '$connect');
          log.line(conn, 'CONNECT', '$connect', requestId, conn.connectedAt, outcome.refuse, null, outcome.reason);
          return reject(res, outcome.refuse, outcome.message, outcome.body);
        }
        if (lifecycle.draining) return reject(res, 503, 'Service Unavailable');
        log.line(conn, 'CONNECT', '$connect', requestId, conn.connectedAt, 200, null, null);
        // Not inside res.cork, although uWS asks for a cork after an await: uWS v20.57's HttpResponse::cork
        // tells an upgrade inside its callback only by the socket's address changing, but the upgrade
        // reallocates the socket in place (its WebSocket data is smaller). cork then runs its HTTP
        // "Connection: close" check on the new WebSocket, reading `state` from bytes that now belong to
        // other allocations, and closes it (1006, right after `open`) when they have bit 4 set. Fixed
        // upstream in uWebSockets PR #1929 (cork also compares the socket context), in no uWebSockets.js
        // release we can use. Measured with websocketCluster.test.ts alone: corked, 2 of 5 runs failed (a
        // connection $connect accepted closed 1006 within 25 ms); uncorked, none of 7 runs. The cost: uWS.js
        // prints its "must be made from within a corked callback" warning on stderr, and the 101 response
        // goes out in several sends instead of one (once per connection, after a whole integration call).
        res.upgrade(userDataOf(conn), key, outcome.protocol ?? protocol, extensions, context);
        // Only now, after uWS has finished with the response (see opening()).
        this.opened(outcome.topics);
      },
      (err: unknown) => {
        metrics?.webSocketIntegrationError(api.id, conn.stage.name, '$connect');
        log.line(conn, 'CONNECT', '$connect', requestId, conn.connectedAt, wsFailureStatus(err), null, (err as Error).message);
        this.deps.logger.error({ err, connectionId: id, route: '$connect' }, 'websocket $connect failed');
        if (!aborted) reject(res, wsFailureStatus(err), 'Internal server error');
      },
    );
    lifecycle.track(done);
  }

  /**
   * uWS's `open`, called inside `res.upgrade`. It only records the socket; subscriptions and registration
   * happen in opened(), once `res.upgrade` has returned and before any I/O can reach the connection, so
   * nothing native runs while uWS is still between the HTTP response and the WebSocket.
   */
  opening(ws: WebSocket<UserData>): void {
    const conn = ws.getUserData().conn;
    conn.ws = ws;
    this.deps.local.set(conn.id, conn);
    this.current = conn;
  }

  /**
   * The rest of accepting the connection `open` just saw, right after its upgrade returned (see
   * opening()): subscribing it to the `$connect` topics and registering it.
   */
  private opened(topics: readonly string[] | null): void {
    const conn = this.current;
    this.current = null;
    const ws = conn?.ws;
    if (!conn || conn.closed || !ws) return;
    conn.accepted = true;
    conn.api.messageLimits.init(conn, Date.now());
    if (topics) for (const t of topics) ws.subscribe(topicKey(conn, t));
    this.deps.registry.register(conn);
    this.deps.metrics?.webSocketConnected(conn.api.id, conn.stage.name);
  }

  /**
   * `$connect`: API key and authorizer, then the integration, whose status accepts or refuses. Resolves
   * the topics and subprotocol to accept with (the connection then carries the authorizer context).
   */
  private async connect(conn: Connection, requestId: string, handshake: Handshake, rawHeaders: readonly string[], query: string, fullPath: string): Promise<Refusal | Acceptance> {
    const api = conn.api;
    if (api.guard !== null) {
      const admission = await api.guard.admit(conn, handshake, rawHeaders, query, fullPath, requestId);
      if ('refuse' in admission) return admission;
      conn.authorizer = admission.authorizer;
    }
    const route = api.connect;
    if (route === null) return ACCEPTED_AS_IS;
    const event = buildEvent(conn, '$connect', 'CONNECT', requestId, { handshake });
    const r = await route.integration.invoke({ event, stage: conn.stage, requestId, payload: null, sourceIp: conn.sourceIp, authorizer: conn.authorizer });
    if (r.statusCode < 200 || r.statusCode > 299) {
      const message = r.statusCode === 403 ? 'Forbidden' : r.statusCode === 401 ? 'Unauthorized' : 'Connection refused by the $connect route';
      return { refuse: r.statusCode, message, reason: `$connect integration answered ${r.statusCode}`, body: r.body };
    }
    return { topics: r.subscribe ? [...route.config.topics, ...r.subscribe] : route.config.topics, protocol: r.protocol };
  }
}

/** Refuses an upgrade with an HTTP answer (the client's handshake fails with this status). */
function reject(res: HttpResponse, status: number, message: string, body?: string | Buffer | null): void {
  res.cork(() => {
    res.writeStatus(statusLine(status));
    if (body) res.end(body);
    else res.writeHeader('content-type', 'application/json').end(JSON.stringify({ message }));
  });
}
