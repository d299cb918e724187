import { randomBytes } from 'node:crypto';
import type { RedisClient } from '@turnpike/redis';
import type { RedisKeys } from '@turnpike/redis';
import { RedisGuard } from '../redis/redisGuard.js';

/**
 * Access-key pairs for the @connections management API (`turnpike credentials create`).
 *
 * The secret is stored in Redis as is, not hashed: SigV4 is an HMAC keyed by the secret, so the verifier
 * must hold it (AWS does too). Whoever can read Redis can read the secrets; Redis must be private to the
 * gateway (docs/websocket.md). Revoking deletes the pair; edge nodes cache a looked-up secret for
 * `CACHE_MS`, so a revocation is in force everywhere within that time.
 */
export interface Credential {
  readonly accessKeyId: string;
  readonly secretAccessKey: string;
  readonly createdAt: string;
  readonly description: string;
}

const BASE32 = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567';

export class CredentialStore {
  static readonly CACHE_MS = 10_000;
  private readonly cache = new Map<string, { secret: string | null; until: number }>();

  constructor(
    private readonly redis: RedisClient,
    private readonly keys: RedisKeys,
  ) {}

  private key(accessKeyId: string): string {
    return this.keys.tagged('cred', accessKeyId);
  }

  private get index(): string {
    return this.keys.tagged('creds', 'index');
  }

  async create(description = ''): Promise<Credential> {
    // AWS's shapes: a 20-character upper-case key id (TPAK instead of AKIA), a 40-character secret.
    const accessKeyId = 'TPAK' + Array.from(randomBytes(16), (b) => BASE32[b & 31]).join('');
    const secretAccessKey = randomBytes(30).toString('base64');
    const createdAt = new Date().toISOString();
    await this.redis.hset(this.key(accessKeyId), { secret: secretAccessKey, createdAt, description });
    await this.redis.sadd(this.index, accessKeyId);
    return { accessKeyId, secretAccessKey, createdAt, description };
  }

  async list(): Promise<Omit<Credential, 'secretAccessKey'>[]> {
    const ids = (await this.redis.smembers(this.index)).sort();
    const out: Omit<Credential, 'secretAccessKey'>[] = [];
    for (const id of ids) {
      const [createdAt, description] = await this.redis.hmget(this.key(id), 'createdAt', 'description');
      if (createdAt !== null && createdAt !== undefined) out.push({ accessKeyId: id, createdAt, description: description ?? '' });
    }
    return out;
  }

  /** Resolves false when there was no such key. */
  async revoke(accessKeyId: string): Promise<boolean> {
    const n = await this.redis.del(this.key(accessKeyId));
    await this.redis.srem(this.index, accessKeyId);
    this.cache.delete(accessKeyId);
    return n > 0;
  }

  /** The secret for verifying a signature, cached briefly so a busy management API costs no Redis trip. */
  async secretOf(accessKeyId: string): Promise<string | null> {
    const now = Date.now();
    const hit = this.cache.get(accessKeyId);
    if (hit && hit.until > now) return hit.secret;
    // Bounded like every Redis call of a request path: RedisUnavailableError (503) instead of a stall.
    const secret = await RedisGuard.of(this.redis).bound('sigv4 credentials').call(() => this.redis.hget(this.key(accessKeyId), 'secret'));
    // Unknown ids are remembered only for a moment, so a flood of made-up ids cannot grow the cache for long.
    if (this.cache.size > 10_000) this.cache.clear();
    this.cache.set(accessKeyId, { secret, until: now + (secret === null ? 1_000 : CredentialStore.CACHE_MS) });
    return secret;
  }
}
