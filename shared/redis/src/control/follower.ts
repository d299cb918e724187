import { duplicateRedis, type RedisClient } from '../connection.js';
import type { RedisKeys } from '../keys.js';
import { deploymentRef, referencedDeployments, type ControlSnapshot, type DeploymentRecord } from './records.js';
import { ControlStore } from './store.js';

/** A revision to serve: the snapshot and the deployments its stages serve or canary, by deploymentRef. */
export interface RevisionToServe {
  readonly snapshot: ControlSnapshot;
  readonly deployments: ReadonlyMap<string, DeploymentRecord>;
  /** Referenced deployments that do not exist (deployments are never deleted, so only a damaged store has any). */
  readonly missing: readonly { api: string; id: string }[];
}

export interface RevisionFollowerOptions {
  /** The service's own connection (commands); the follower opens one more like it (TLS, ACL, mode) for pub/sub. */
  redis: RedisClient;
  keys: RedisKeys;
  /** The pub/sub connection's name, as CLIENT LIST shows it. */
  connectionName: string;
  /** How often the revision is checked, in case a pub/sub message was missed (default 2 s). */
  pollMs?: number;
  /** Whether a revision needs no load: it is served, or was refused and stays refused. */
  settled: (revision: number) => boolean;
  /** Serves a revision; throwing leaves it unsettled, so the next announcement or check loads it again. */
  serve: (revision: RevisionToServe) => Promise<void> | void;
  /** A load failed (Redis, or `serve` threw); what is served stays. */
  onLoadError: (err: unknown) => void;
}

/**
 * Follows the control plane's revision for a service that serves it (the edges' routes, the workers'
 * deployed functions; docs/versions.md): loads at start, then again when a new revision is announced on
 * pub/sub, when the pub/sub connection comes back (announcements may have been missed meanwhile) or when
 * the periodic check sees one. Loads never overlap: a reload asked for during one runs once after it,
 * however many were asked for. Deployments never change, so each is fetched once and kept while referenced.
 */
export class RevisionFollower {
  private readonly store: ControlStore;
  private readonly deployments = new Map<string, DeploymentRecord>();
  private subscriber: RedisClient | null = null;
  private timer: NodeJS.Timeout | null = null;
  private loading: Promise<void> | null = null;
  private again = false;
  private stopped = false;
  /** How often the revision is checked. */
  readonly pollMs: number;

  constructor(private readonly opts: RevisionFollowerOptions) {
    this.store = new ControlStore(opts.redis, opts.keys);
    this.pollMs = opts.pollMs ?? 2_000;
  }

  /** Resolves once the revision current at start has been loaded (or failed to, which is reported). */
  async start(): Promise<this> {
    const sub = (this.subscriber = duplicateRedis(this.opts.redis, { name: this.opts.connectionName, enableOfflineQueue: true, maxRetriesPerRequest: null, blocking: true }));
    sub.on('message', () => void this.reload());
    // After a reconnect messages may have been missed: check at once.
    sub.on('ready', () => void this.reload());
    await sub.subscribe(this.store.channel);
    await this.reload();
    this.timer = setInterval(() => void this.check(), this.pollMs);
    this.timer.unref();
    return this;
  }

  /** Resolves once the newest revision known when called has been loaded (or failed to, which is reported). */
  private reload(): Promise<void> {
    if (this.loading) {
      this.again = true;
      return this.loading;
    }
    this.loading = (async () => {
      do {
        this.again = false;
        await this.loadOnce().catch((err: unknown) => this.opts.onLoadError(err));
      } while (this.again && !this.stopped);
      this.loading = null;
    })();
    return this.loading;
  }

  /** True from the moment close() is called. */
  get closed(): boolean {
    return this.stopped;
  }

  /** Stops following at once; resolves once a load in flight has finished and pub/sub is disconnected. */
  async close(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearInterval(this.timer);
    await this.loading;
    this.subscriber?.disconnect();
  }

  private async check(): Promise<void> {
    try {
      if (!this.opts.settled(await this.store.revision())) await this.reload();
    } catch {
      // Redis unreachable: what is served stays; the service's own health checks report Redis.
    }
  }

  private async loadOnce(): Promise<void> {
    // A periodic check in flight when close() was called still ends here: a closed service serves nothing new.
    if (this.stopped) return;
    const snapshot = await this.store.snapshot();
    if (this.opts.settled(snapshot.revision)) return;
    const refs = referencedDeployments(snapshot);
    const unknown = refs.filter((r) => !this.deployments.has(deploymentRef(r.api, r.id)));
    const fetched = await this.store.deploymentsById(unknown);
    const missing: { api: string; id: string }[] = [];
    unknown.forEach((ref, i) => {
      const d = fetched[i];
      if (d) this.deployments.set(deploymentRef(ref.api, ref.id), d);
      else missing.push(ref);
    });
    const wanted = new Set(refs.map((r) => deploymentRef(r.api, r.id)));
    for (const k of this.deployments.keys()) if (!wanted.has(k)) this.deployments.delete(k);
    await this.opts.serve({ snapshot, deployments: this.deployments, missing });
  }
}
