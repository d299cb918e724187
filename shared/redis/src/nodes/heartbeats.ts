import { hostname } from 'node:os';
import type { Redis } from 'ioredis';
import type { RedisKeys } from '../keys.js';

/** What a node (edge or worker) says about itself every few seconds; the console's Nodes page and the metrics scraper read it. */
export interface NodeReport {
  readonly id: string;
  readonly kind: 'edge' | 'worker';
  readonly version: string;
  readonly host: string;
  readonly pid: number;
  readonly startedAt: number;
  /** When this report was written (ms). A node silent for three intervals is left out of listings. */
  readonly at: number;
  readonly intervalMs: number;
  /** The management listener (`http://host:port`, /metrics /readyz), when the node has one. */
  readonly managementUrl: string | null;
  /** The control-plane revision served, -1 for none or a node not following the control plane. */
  readonly revision: number;
  /** CPU used over the last interval, in percent of one core. */
  readonly cpuPercent: number;
  readonly rssBytes: number;
  readonly heapUsedBytes: number;
  /** Open WebSocket connections (edge) or busy function hosts (worker). */
  readonly connections: number;
  readonly ready: boolean;
  readonly readiness: string;
}

/**
 * Heartbeats of every node in one hash (`nodes:{all}`: node id → JSON report), so the control service
 * lists the fleet with one HGETALL. A node that stops cleanly removes its field; one that dies is dropped
 * from listings once its report is three intervals old, and the reader deletes the field.
 */
export class NodeHeartbeats {
  private readonly key: string;

  constructor(
    private readonly redis: Redis,
    keys: RedisKeys,
  ) {
    this.key = keys.tagged('nodes', 'all');
  }

  async report(r: NodeReport): Promise<void> {
    await this.redis.hset(this.key, r.id, JSON.stringify(r));
  }

  async remove(id: string): Promise<void> {
    await this.redis.hdel(this.key, id);
  }

  /** The live nodes, edges first, then by id. */
  async list(now = Date.now()): Promise<NodeReport[]> {
    const all = await this.redis.hgetall(this.key);
    const live: NodeReport[] = [];
    const dead: string[] = [];
    for (const [id, json] of Object.entries(all)) {
      let r: NodeReport;
      try {
        r = JSON.parse(json) as NodeReport;
      } catch {
        dead.push(id);
        continue;
      }
      if (now - r.at > 3 * r.intervalMs) dead.push(id);
      else live.push(r);
    }
    if (dead.length) await this.redis.hdel(this.key, ...dead);
    return live.sort((a, b) => (a.kind === b.kind ? a.id.localeCompare(b.id) : a.kind === 'edge' ? -1 : 1));
  }
}

/** CPU percent of one core since the previous call: each heartbeat keeps one of these. */
export function cpuMeter(): () => number {
  let last = process.cpuUsage();
  let lastAt = process.hrtime.bigint();
  return () => {
    const now = process.hrtime.bigint();
    const used = process.cpuUsage(last);
    const elapsedUs = Number(now - lastAt) / 1000;
    last = process.cpuUsage();
    lastAt = now;
    return elapsedUs > 0 ? Math.round(((used.user + used.system) / elapsedUs) * 1000) / 10 : 0;
  };
}

/** The release a node runs, reported in its heartbeat (kept equal to the root package.json's version). */
export const TURNPIKE_VERSION = '0.1.0';

/** What changes between two heartbeats of a node. */
export type NodeState = Pick<NodeReport, 'revision' | 'connections' | 'ready' | 'readiness'>;

/**
 * One node's heartbeat loop: writes its report now and every `intervalMs` (unref'd timer; a beat still
 * running when the next is due is not doubled), removes it on stop. A failed write is retried on the next
 * beat (and reported once per outage): a heartbeat never takes its node down.
 */
export class NodeHeartbeat {
  private timer: NodeJS.Timeout | null = null;
  private inflight: Promise<void> | null = null;
  /** Reported once per outage, not every beat. */
  private failing = false;
  private readonly cpu = cpuMeter();
  private readonly startedAt = Date.now();

  constructor(
    private readonly heartbeats: NodeHeartbeats,
    private readonly node: Pick<NodeReport, 'id' | 'kind' | 'managementUrl'>,
    private readonly state: () => Promise<NodeState>,
    private readonly intervalMs = 2_000,
    private readonly onError: (err: unknown) => void = () => {},
  ) {}

  /** Starts beating; never waits on Redis, so a node starts even while Redis is down. */
  start(): this {
    const tick = () => {
      this.inflight ??= this.beat().finally(() => (this.inflight = null));
    };
    tick();
    this.timer = setInterval(tick, this.intervalMs).unref();
    return this;
  }

  /** Stops and removes the record (after a beat in flight, which would otherwise write it back). */
  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    await this.inflight;
    await this.heartbeats.remove(this.node.id).catch(this.onError);
  }

  private async beat(): Promise<void> {
    try {
      const mem = process.memoryUsage();
      const state = await this.state();
      await this.heartbeats.report({
        ...this.node,
        ...state,
        version: TURNPIKE_VERSION,
        host: hostname(),
        pid: process.pid,
        startedAt: this.startedAt,
        at: Date.now(),
        intervalMs: this.intervalMs,
        cpuPercent: this.cpu(),
        rssBytes: mem.rss,
        heapUsedBytes: mem.heapUsed,
      });
      this.failing = false;
    } catch (err) {
      if (!this.failing) this.onError(err);
      this.failing = true;
    }
  }
}
