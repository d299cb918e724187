import { ReplyError } from 'ioredis';
import pino, { type Logger } from 'pino';
import { isCluster, requestTimeoutOf, type RedisClient } from '@turnpike/redis';

/** A Redis call that got no answer within its bound, or was not tried because Redis is known to be down. */
export class RedisUnavailableError extends Error {
  readonly code = 'TP_REDIS_UNAVAILABLE';
  constructor(message: string) {
    super(message);
    this.name = 'RedisUnavailableError';
  }
}

/** One use's calls that got no answer, by why; read by tests, logs and metrics. */
export interface BoundCounters {
  /** No answer within the bound. */
  timeouts: number;
  /** Redis (or the connection) answered with an error. */
  errors: number;
  /** Not tried: the connection is down, or a recent failure opened the breaker. */
  refused: number;
}

/** After a timeout or error, a use skips Redis this long: during an outage requests decide at once. */
const BREAKER_MS = 250;
/** The bound of a connection opened without `requestTimeoutMs` (connectRedis). */
const DEFAULT_TIMEOUT_MS = 500;

/** One guard per connection, whoever asks for it, so the connection's state is watched and logged once. */
const guards = new WeakMap<RedisClient, RedisGuard>();

/**
 * Bounds every Redis call an edge node makes on a request path, and knows whether Redis is reachable.
 *
 * The connection's `requestTimeoutMs` (gateway.redis.timeoutMs) is the ceiling for any call; a use
 * (throttle leases, API key lookups, the policy cache, function enqueues, metering, the WebSocket
 * registry, SigV4 credentials, topic publishes) gets a RedisBound
 * with its own, possibly shorter, bound and its own breaker, so a tight 50 ms throttle bound timing out
 * on a busy machine never makes function invocations fail.
 *
 * Connection state is followed through ioredis's events, not timers (a Cluster client emits them for the
 * cluster as a whole; one master failing over is met by the per-call bound and the Cluster's own retries): while the connection is down (a
 * connection attempt failed, or an established one dropped) every call is refused at once, so an outage
 * answers promptly instead of each request waiting out its bound; before the first attempt has finished
 * (a node that just started) calls wait for it within their bound. ioredis keeps reconnecting and
 * scripts reload on NOSCRIPT, so when Redis is back the next call simply succeeds.
 */
export class RedisGuard {
  /** The bound of this connection's commands; RedisBounds are never longer. */
  readonly timeoutMs: number;
  private down = false;
  private downSince = 0;
  private change: Promise<void> | null = null;
  private readonly bounds = new Map<string, RedisBound>();

  /** The guard of `redis`; `logger` is used by whoever asks first (the edge, before any request). */
  static of(redis: RedisClient, logger?: Logger): RedisGuard {
    let g = guards.get(redis);
    if (g === undefined) guards.set(redis, (g = new RedisGuard(redis, logger ?? pino({ level: 'silent' }))));
    return g;
  }

  private constructor(
    private readonly redis: RedisClient,
    private readonly logger: Logger,
  ) {
    this.timeoutMs = requestTimeoutOf(redis) ?? DEFAULT_TIMEOUT_MS;
    const name = (isCluster(redis) ? redis.options.redisOptions?.connectionName : redis.options.connectionName) ?? 'redis';
    redis.on('ready', () => {
      if (!this.down) return;
      this.down = false;
      this.logger.info({ event: 'redis_available', connection: name, downMs: Date.now() - this.downSince }, `${name}: redis available again`);
    });
    // Emitted after every failed attempt or dropped connection, and never for our own disconnect().
    redis.on('reconnecting', () => {
      if (this.down) return;
      this.down = true;
      this.downSince = Date.now();
      this.logger.warn({ event: 'redis_unavailable', connection: name, stats: this.stats() }, `${name}: redis unreachable; calls on request paths are answered without it until it is back`);
    });
  }

  /** A use of this connection, bounded by `timeoutMs` (at most the connection's own bound). */
  bound(what: string, timeoutMs = this.timeoutMs): RedisBound {
    const ms = Math.min(timeoutMs, this.timeoutMs);
    const id = `${what} ${ms}`;
    let b = this.bounds.get(id);
    if (b === undefined) this.bounds.set(id, (b = new RedisBound(this, what, ms, this.logger)));
    return b;
  }

  /** Counters per use ("what bound-ms"). */
  stats(): Record<string, BoundCounters> {
    const out: Record<string, BoundCounters> = {};
    for (const [id, b] of this.bounds) out[id] = { ...b.counters };
    return out;
  }

  /** 'ready' to run now, 'down' to refuse, or a Promise settled at the first connection attempt's outcome. */
  state(): 'ready' | 'down' | Promise<void> {
    if (this.redis.status === 'ready') return 'ready';
    if (this.down) return 'down';
    return (this.change ??= new Promise<void>((resolve) => {
      const settle = () => {
        this.redis.off('ready', settle).off('reconnecting', settle);
        this.change = null;
        resolve();
      };
      this.redis.on('ready', settle).on('reconnecting', settle);
    }));
  }
}

/**
 * One use of a guarded connection: `call(fn)` runs `fn` (a Redis command or script) and settles within
 * `timeoutMs` whatever Redis does. It rejects with RedisUnavailableError when Redis could not be asked or
 * did not answer (callers answer 503, or apply their fail-open policy), and with Redis's own ReplyError
 * when Redis answered an error (a fault, not an outage). A timeout or error opens this use's breaker for
 * BREAKER_MS.
 * A command that timed out may still run in Redis later, as with any timeout: callers must only time
 * out what is safe to apply late (a lease, a read, an enqueue whose result nobody waits for).
 */
export class RedisBound {
  readonly counters: BoundCounters = { timeouts: 0, errors: 0, refused: 0 };
  private openUntil = 0;
  /** Since the last timeout, no call has succeeded: logged once each way, not per call. */
  private timingOut = false;
  private readonly downError: RedisUnavailableError;
  private readonly openError: RedisUnavailableError;
  private readonly timeoutMessage: string;

  constructor(
    private readonly guard: RedisGuard,
    readonly what: string,
    readonly timeoutMs: number,
    private readonly logger: Logger,
  ) {
    // Refusals during an outage come by the thousand: one error object each, not one per request.
    this.downError = new RedisUnavailableError(`${what}: redis unreachable`);
    this.openError = new RedisUnavailableError(`${what}: redis unavailable (failed within the last ${BREAKER_MS} ms)`);
    this.timeoutMessage = `${what}: redis did not answer within ${timeoutMs} ms`;
  }

  call<T>(fn: () => Promise<T>): Promise<T> {
    const state = this.guard.state();
    if (state === 'down') return this.refuse(this.downError);
    if (this.openUntil !== 0 && Date.now() < this.openUntil) return this.refuse(this.openError);
    return new Promise<T>((resolve, reject) => {
      let settled = false;
      const expire = () => {
        if (settled) return;
        settled = true;
        this.counters.timeouts++;
        this.openUntil = Date.now() + BREAKER_MS;
        if (!this.timingOut) {
          // A hung Redis keeps its connections open: this line is how an operator sees it.
          this.timingOut = true;
          this.logger.warn({ event: 'redis_timeout', what: this.what, timeoutMs: this.timeoutMs }, this.timeoutMessage);
        }
        reject(new RedisUnavailableError(this.timeoutMessage));
      };
      // The decision waits one I/O turn past the bound: after an event-loop stall (a busy machine) the
      // expired timer runs before the reply already in the socket is read, and that is not a Redis timeout.
      const timer = setTimeout(() => setImmediate(expire), this.timeoutMs);
      const run = () => {
        if (settled) return;
        if (this.guard.state() !== 'ready') {
          settled = true;
          clearTimeout(timer);
          this.counters.refused++;
          reject(this.downError);
          return;
        }
        fn().then(
          (v) => {
            if (settled) return;
            settled = true;
            clearTimeout(timer);
            this.openUntil = 0;
            if (this.timingOut) {
              this.timingOut = false;
              this.logger.info({ event: 'redis_answering', what: this.what }, `${this.what}: redis answers again`);
            }
            resolve(v);
          },
          (err: unknown) => {
            if (settled) return;
            settled = true;
            clearTimeout(timer);
            this.counters.errors++;
            this.openUntil = Date.now() + BREAKER_MS;
            reject(err instanceof ReplyError ? err : new RedisUnavailableError(`${this.what}: ${err instanceof Error ? err.message : String(err)}`));
          },
        );
      };
      if (state === 'ready') run();
      else void state.then(run);
    });
  }

  private refuse(err: RedisUnavailableError): Promise<never> {
    this.counters.refused++;
    return Promise.reject(err);
  }
}
