import { EventEmitter } from 'node:events';
import type { Logger } from 'pino';
import { ConfigError, formatIssue, type TurnpikeConfig } from '@turnpike/config';
import { ControlStore, deploymentRef, duplicateRedis, referencedDeployments, type DeploymentRecord, type RedisClient, type RedisKeys } from '@turnpike/redis';
import { composeConfig } from './compose.js';

export interface ControlFollowerOptions {
  /** The edge's own connection (commands); the follower opens one more like it (TLS, ACL, mode) for pub/sub. */
  redis: RedisClient;
  keys: RedisKeys;
  /** Gateway settings (and functions) the composed configs keep; its APIs are replaced. */
  base: TurnpikeConfig;
  /** Compiles and swaps in a config; throws (ConfigError) when it cannot be compiled. */
  apply: (config: TurnpikeConfig) => void;
  logger: Logger;
  /** How often the revision is checked, in case a pub/sub message was missed (default 2 s). */
  pollMs?: number;
  onReload?: (revision: number, ok: boolean) => void;
}

/**
 * Keeps an edge serving what the control plane says (docs/versions.md): loads every stage at start, then
 * reloads when a new revision is announced on pub/sub or seen by the periodic check. A reload reads the
 * snapshot and the deployments it needs (deployments never change, so each is fetched once), composes a
 * config and hands it to `apply`, which compiles it off the request path and swaps the table in one
 * assignment. A revision that does not compile is logged, counted and shown on /readyz, and the routes
 * already served stay: an edge never serves half a change. Emits `reload` ({ revision, ok }) after each.
 */
export class ControlFollower extends EventEmitter<{ reload: [{ revision: number; ok: boolean }] }> {
  private readonly store: ControlStore;
  private subscriber: RedisClient | null = null;
  private timer: NodeJS.Timeout | null = null;
  private readonly deployments = new Map<string, DeploymentRecord>();
  private loading: Promise<void> | null = null;
  private again = false;
  private closed = false;
  /** The revision served, -1 before the first one. */
  revision = -1;
  /** The newest revision that did not compile, while an older one serves. */
  refused: { revision: number; message: string } | null = null;

  constructor(private readonly opts: ControlFollowerOptions) {
    super();
    this.store = new ControlStore(opts.redis, opts.keys);
  }

  async start(): Promise<this> {
    const sub = (this.subscriber = duplicateRedis(this.opts.redis, { name: 'turnpike-edge-control', enableOfflineQueue: true, maxRetriesPerRequest: null, blocking: true }));
    sub.on('message', () => this.reload());
    // After a reconnect messages may have been missed: check at once.
    sub.on('ready', () => this.reload());
    await sub.subscribe(this.store.channel);
    await this.reload();
    this.timer = setInterval(() => void this.check(), this.opts.pollMs ?? 2_000);
    this.timer.unref();
    return this;
  }

  /** Resolves once the newest revision known when called has been loaded (or refused). */
  reload(): Promise<void> {
    if (this.loading) {
      this.again = true;
      return this.loading;
    }
    this.loading = (async () => {
      do {
        this.again = false;
        await this.loadOnce().catch((err: unknown) => this.opts.logger.warn({ err }, 'control plane: cannot read the revision; keeping the routes served'));
      } while (this.again && !this.closed);
      this.loading = null;
    })();
    return this.loading;
  }

  /** /readyz: ready once a revision is served; a refused newer revision is reported but not fatal. */
  readiness(): { ok: boolean; detail: string } {
    const served = this.revision < 0 ? 'no revision served yet' : `serving revision ${this.revision}`;
    if (this.refused) return { ok: this.revision >= 0, detail: `${served}; revision ${this.refused.revision} refused: ${this.refused.message}` };
    return { ok: this.revision >= 0, detail: served };
  }

  async close(): Promise<void> {
    this.closed = true;
    if (this.timer) clearInterval(this.timer);
    await this.loading;
    this.subscriber?.disconnect();
  }

  private async check(): Promise<void> {
    try {
      const r = await this.store.revision();
      if (r !== this.revision && r !== this.refused?.revision) await this.reload();
    } catch {
      // Redis unreachable: the routes served stay; readiness reports Redis itself.
    }
  }

  private async loadOnce(): Promise<void> {
    const snapshot = await this.store.snapshot();
    if (snapshot.revision === this.revision || snapshot.revision === this.refused?.revision) return;
    const refs = referencedDeployments(snapshot);
    const missing = refs.filter((r) => !this.deployments.has(deploymentRef(r.api, r.id)));
    const fetched = await this.store.deploymentsById(missing);
    fetched.forEach((d, i) => {
      if (d) this.deployments.set(deploymentRef(d.api, d.id), d);
      else throw new Error(`deployment ${missing[i]!.id} of API ${missing[i]!.api} does not exist`);
    });
    const wanted = new Set(refs.map((r) => deploymentRef(r.api, r.id)));
    for (const k of this.deployments.keys()) if (!wanted.has(k)) this.deployments.delete(k);

    try {
      this.opts.apply(composeConfig(this.opts.base, snapshot, this.deployments));
    } catch (err) {
      const message = err instanceof ConfigError ? err.issues.map(formatIssue).join('; ') : (err as Error).message;
      this.refused = { revision: snapshot.revision, message };
      this.opts.onReload?.(snapshot.revision, false);
      this.emit('reload', { revision: snapshot.revision, ok: false });
      this.opts.logger.error({ revision: snapshot.revision, served: this.revision, err: message }, 'control plane: revision does not compile; the previous routes keep serving');
      return;
    }
    this.revision = snapshot.revision;
    this.refused = null;
    this.opts.onReload?.(snapshot.revision, true);
    this.emit('reload', { revision: snapshot.revision, ok: true });
    this.opts.logger.info({ revision: snapshot.revision, stages: snapshot.stages.length }, 'control plane: revision served');
  }
}
