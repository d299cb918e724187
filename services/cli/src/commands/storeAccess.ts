import { loadConfig } from '@turnpike/config';
import { ApiKeyStore, RedisKeys, StoreError, connectRedis } from '@turnpike/redis';
import type { Redis } from 'ioredis';

/** The options every store command takes to find Redis: a config file, or the URL and prefix directly. */
export const STORE_OPTIONS = {
  config: { type: 'string', short: 'c' },
  redis: { type: 'string' },
  'key-prefix': { type: 'string' },
  json: { type: 'boolean' },
} as const;

export const STORE_HELP = `Redis: --config FILE (its gateway.redis), or --redis URL (default $REDIS_URL or redis://127.0.0.1:6379)
and --key-prefix P (default tp); the flags win over the file. --json prints JSON.`;

const CONNECT_TIMEOUT_MS = 3_000;

/**
 * Opens the API key store, runs `fn`, and closes it. A store error (unknown id, invalid input) prints
 * its message and exits 1; an unreachable Redis says which URL.
 */
export async function withStore(command: string, values: { config?: string; redis?: string; 'key-prefix'?: string }, fn: (store: ApiKeyStore) => Promise<number>): Promise<number> {
  const fromFile = values.config ? loadConfig(values.config).gateway.redis : undefined;
  const url = values.redis ?? (fromFile ? fromFile.url : (process.env.REDIS_URL ?? 'redis://127.0.0.1:6379'));
  const prefix = values['key-prefix'] ?? fromFile?.keyPrefix ?? 'tp';
  const redis = connectRedis({ url, name: `turnpike-${command}`, maxRetriesPerRequest: 1 });
  try {
    await ping(redis, url);
    return await fn(new ApiKeyStore(redis, new RedisKeys(prefix)));
  } catch (err) {
    if (err instanceof StoreError || err instanceof UnreachableError) {
      console.error(`turnpike ${command}: ${err.message}`);
      return 1;
    }
    throw err;
  } finally {
    redis.disconnect();
  }
}

class UnreachableError extends Error {}

async function ping(redis: Redis, url: string): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  try {
    await Promise.race([
      redis.ping(),
      new Promise((_, reject) => (timer = setTimeout(() => reject(new Error('timed out')), CONNECT_TIMEOUT_MS))),
    ]);
  } catch (err) {
    throw new UnreachableError(`cannot reach Redis at ${url}: ${(err as Error).message}`);
  } finally {
    clearTimeout(timer);
  }
}

/** Prints rows as aligned columns. */
export function printTable(header: string[], rows: (string | number)[][]): void {
  const all = [header, ...rows.map((r) => r.map(String))];
  const widths = header.map((_, i) => Math.max(...all.map((r) => r[i]!.length)));
  for (const r of all) console.log(r.map((c, i) => c.padEnd(widths[i]!)).join('  ').trimEnd());
}
