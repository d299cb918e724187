import type { WebSocket } from 'uWebSockets.js';
import type { Logger } from 'pino';
import type { WebSocketNodeConfig } from '@turnpike/config';
import type { EdgeMetrics } from '../observe/edgeMetrics.js';
import type { CompiledWebSocketApi } from './compiledApi.js';
import type { Connection, UserData } from './connection.js';
import type { NodeBus } from './bus.js';
import type { ConnectionRegistry } from './registry.js';
import type { WsRoutes } from './routes.js';

const CLOSE_GOING_AWAY = 1001;

export interface LifecycleDeps {
  /** The connections this node holds, by id. */
  readonly local: Map<string, Connection>;
  readonly registry: ConnectionRegistry;
  readonly bus: NodeBus;
  readonly routes: WsRoutes;
  readonly node: WebSocketNodeConfig;
  readonly logger: Logger;
  readonly metrics: EdgeMetrics | null;
}

/**
 * How connections and the node's WebSocket side end: the bus subscription and registry heartbeat while
 * the node runs, the idle / maximum-duration sweep, a closed connection leaving the registry and running
 * `$disconnect`, and draining on stop (1001 to every client, their `$disconnect` awaited up to the grace).
 */
export class Lifecycle {
  /** Set by stop(): handshakes still in flight are refused with 503. */
  draining = false;
  private readonly pending = new Set<Promise<unknown>>();
  private timers: NodeJS.Timeout[] = [];

  constructor(private readonly deps: LifecycleDeps) {}

  /**
   * Subscribes to this node's inbox and the topics channel (waiting up to 5 s: an edge whose Redis is
   * down still starts, reports not ready, and subscribes once Redis is back), then heartbeats.
   */
  async start(apis: Iterable<CompiledWebSocketApi>): Promise<void> {
    const { logger, registry, node } = this.deps;
    let timer: NodeJS.Timeout | undefined;
    const subscribed = await Promise.race([
      this.deps.bus.start().then(
        () => true,
        (err: unknown) => (logger.warn({ err }, 'websocket bus: subscribe failed'), false),
      ),
      new Promise<boolean>((resolve) => (timer = setTimeout(() => resolve(false), 5_000))),
    ]);
    clearTimeout(timer);
    if (!subscribed) logger.warn('websocket bus: Redis not reachable yet; cross-node delivery starts once it is');
    const heartbeat = () => {
      registry.heartbeat().catch((err: unknown) => logger.warn({ err }, 'websocket registry: heartbeat failed'));
    };
    heartbeat();
    const beat = setInterval(heartbeat, node.heartbeatMs);
    let minIdle = Infinity;
    for (const a of apis) minIdle = Math.min(minIdle, a.limits.idleTimeoutMs, a.limits.maxConnectionDurationMs);
    const sweep = setInterval(() => this.sweep(), Math.max(250, Math.min(5_000, minIdle / 4)));
    beat.unref();
    sweep.unref();
    this.timers = [beat, sweep];
  }

  /** Closes every connection with 1001, runs their `$disconnect` (up to graceMs), and leaves the registry. */
  async stop(graceMs: number): Promise<void> {
    this.draining = true;
    for (const t of this.timers) clearInterval(t);
    for (const c of [...this.deps.local.values()]) c.ws?.end(CLOSE_GOING_AWAY, 'Going away');
    if (this.pending.size) {
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([Promise.allSettled([...this.pending]), new Promise((r) => (timer = setTimeout(r, graceMs)))]);
      clearTimeout(timer);
    }
    await this.deps.registry.leave().catch((err: unknown) => this.deps.logger.warn({ err }, 'websocket registry: leave failed'));
    await this.deps.bus.close();
  }

  /** uWS's `close`: the connection leaves this node and the registry, then its `$disconnect` runs. */
  closed(ws: WebSocket<UserData>, code: number, message: ArrayBuffer): void {
    const conn = ws.getUserData().conn;
    conn.closed = true;
    conn.ws = null;
    this.deps.local.delete(conn.id);
    if (conn.accepted) {
      this.deps.registry.unregister(conn);
      this.deps.metrics?.webSocketDisconnected(conn.api.id, conn.stage.name);
    }
    const done = this.deps.routes.disconnect(conn, code, Buffer.from(message).toString('utf8'));
    if (done !== null) this.track(done);
  }

  /** Work that stop() waits for (handshakes, `$disconnect` integrations). */
  track(p: Promise<unknown>): void {
    this.pending.add(p);
    void p.finally(() => this.pending.delete(p));
  }

  /** Idle timeout and maximum duration, checked for every local connection a few times per timeout. */
  private sweep(): void {
    const now = Date.now();
    for (const c of this.deps.local.values()) {
      const l = c.api.limits;
      if (now - c.connectedAt >= l.maxConnectionDurationMs) c.ws?.end(CLOSE_GOING_AWAY, 'Maximum connection duration reached');
      else if (now - c.lastActiveAt >= l.idleTimeoutMs) c.ws?.end(CLOSE_GOING_AWAY, 'Idle timeout');
    }
  }
}
