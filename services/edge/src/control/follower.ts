import { EventEmitter } from 'node:events';
import type { Logger } from 'pino';
import { ConfigError, formatIssue, type TurnpikeConfig } from '@turnpike/config';
import { RevisionFollower, type RedisClient, type RedisKeys, type RevisionToServe } from '@turnpike/redis';
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
 * reloads when a new revision is announced on pub/sub or seen by the periodic check (RevisionFollower).
 * A reload reads the snapshot and the deployments it needs, composes a
 * config and hands it to `apply`, which compiles it off the request path and swaps the table in one
 * assignment. A revision that does not compile is logged, counted and shown on /readyz, and the routes
 * already served stay: an edge never serves half a change. Emits `reload` ({ revision, ok }) after each.
 */
export class ControlFollower extends EventEmitter<{ reload: [{ revision: number; ok: boolean }] }> {
  private readonly revisions: RevisionFollower;
  /** The revision served, -1 before the first one. */
  revision = -1;
  /** The newest revision that did not compile, while an older one serves. */
  refused: { revision: number; message: string } | null = null;

  constructor(private readonly opts: ControlFollowerOptions) {
    super();
    this.revisions = new RevisionFollower({
      redis: opts.redis,
      keys: opts.keys,
      connectionName: 'turnpike-edge-control',
      pollMs: opts.pollMs,
      settled: (r) => r === this.revision || r === this.refused?.revision,
      serve: (next) => this.serve(next),
      onLoadError: (err) => opts.logger.warn({ err }, 'control plane: cannot read the revision; keeping the routes served'),
    });
  }

  /** Resolves once the revision current at start has been loaded (or refused, or failed to load). */
  async start(): Promise<this> {
    await this.revisions.start();
    return this;
  }

  /** /readyz: ready once a revision is served; a refused newer revision is reported but not fatal. */
  readiness(): { ok: boolean; detail: string } {
    const served = this.revision < 0 ? 'no revision served yet' : `serving revision ${this.revision}`;
    if (this.refused) return { ok: this.revision >= 0, detail: `${served}; revision ${this.refused.revision} refused: ${this.refused.message}` };
    return { ok: this.revision >= 0, detail: served };
  }

  close(): Promise<void> {
    return this.revisions.close();
  }

  private serve({ snapshot, deployments, missing }: RevisionToServe): void {
    const absent = missing[0];
    if (absent) throw new Error(`deployment ${absent.id} of API ${absent.api} does not exist`);
    try {
      this.opts.apply(composeConfig(this.opts.base, snapshot, deployments));
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
