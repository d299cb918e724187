import { createHash, randomBytes } from 'node:crypto';
import type { RedisClient } from '../connection.js';
import type { RedisKeys } from '../keys.js';
import { digestsEqual, generateId } from '../apiKeys/secret.js';
import { ControlError } from './store.js';

/**
 * Admin tokens for the control service (docs/versions.md). A token is `tpa_<id>_<secret>`: the id finds
 * its record, the SHA-256 of the whole token is compared in constant time, and the token itself is shown
 * once and never stored. 240 random bits make an unsalted fast hash enough (as for API keys).
 *
 * Scopes are `<area>:read` or `<area>:write` (write includes read), or `*` for everything. Areas:
 * `apis` (APIs, deployments, stages, canaries, domains), `keys` (API keys, usage plans, usage),
 * `credentials`, `connections` and `tokens`.
 */

export const SCOPE_AREAS = ['apis', 'keys', 'credentials', 'connections', 'tokens'] as const;
export type ScopeArea = (typeof SCOPE_AREAS)[number];
const SCOPE = /^(\*|(apis|keys|credentials|connections|tokens):(read|write))$/;

export interface AdminToken {
  readonly id: string;
  readonly name: string;
  readonly scopes: readonly string[];
  readonly createdAt: string;
  readonly createdBy: string;
}

export interface CreatedAdminToken extends AdminToken {
  /** Shown once. */
  readonly token: string;
}

interface StoredToken extends AdminToken {
  readonly digest: string;
}

export class AdminTokenStore {
  constructor(
    private readonly redis: RedisClient,
    private readonly keys: RedisKeys,
  ) {}

  private get hash(): string {
    return this.keys.tagged('ctl', 'control', 'tokens');
  }

  async create(opts: { name: string; scopes: readonly string[]; by: string }): Promise<CreatedAdminToken> {
    if (!/^[A-Za-z0-9 _.:@-]{1,128}$/.test(opts.name)) throw new ControlError('invalid', 'a token name is 1 to 128 letters, digits, spaces and _ . : @ -');
    if (opts.scopes.length === 0) throw new ControlError('invalid', 'a token needs at least one scope');
    const bad = opts.scopes.find((s) => !SCOPE.test(s));
    if (bad !== undefined) throw new ControlError('invalid', `unknown scope "${bad}" (scopes are * or <area>:read|write, areas ${SCOPE_AREAS.join(', ')})`);
    const id = generateId();
    const token = `tpa_${id}_${randomBytes(30).toString('base64url')}`;
    const record: StoredToken = { id, name: opts.name, scopes: [...new Set(opts.scopes)], createdAt: new Date().toISOString(), createdBy: opts.by, digest: digest(token) };
    await this.redis.hset(this.hash, id, JSON.stringify(record));
    const { digest: _d, ...pub } = record;
    return { ...pub, token };
  }

  async list(): Promise<AdminToken[]> {
    return Object.values(await this.redis.hgetall(this.hash))
      .map((v) => {
        const { digest: _d, ...pub } = JSON.parse(v) as StoredToken;
        return pub;
      })
      .sort((a, b) => (a.createdAt < b.createdAt ? -1 : 1));
  }

  async revoke(id: string): Promise<void> {
    if ((await this.redis.hdel(this.hash, id)) === 0) throw new ControlError('not_found', `no admin token "${id}"`);
  }

  /** The token's record, or null when it is malformed, unknown or revoked. */
  async verify(token: string): Promise<AdminToken | null> {
    const id = /^tpa_([a-z0-9]{1,16})_[A-Za-z0-9_-]{40}$/.exec(token)?.[1];
    if (id === undefined) return null;
    const raw = await this.redis.hget(this.hash, id);
    if (raw === null) return null;
    const { digest: stored, ...pub } = JSON.parse(raw) as StoredToken;
    return digestsEqual(Buffer.from(stored, 'hex'), Buffer.from(digest(token), 'hex')) ? pub : null;
  }
}

/** True when `scopes` allow `access` to `area`. */
export function scopeAllows(scopes: readonly string[], area: ScopeArea, access: 'read' | 'write'): boolean {
  return scopes.includes('*') || scopes.includes(`${area}:write`) || (access === 'read' && scopes.includes(`${area}:read`));
}

function digest(token: string): string {
  return createHash('sha256').update(token).digest('hex');
}
