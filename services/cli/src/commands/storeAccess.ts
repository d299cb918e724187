import { loadConfig } from '@turnpike/config';
import { ApiKeyStore, ControlError, RedisKeys, StoreError, connectRedis, describeRedis, type RedisClient, type RedisEndpoint } from '@turnpike/redis';

/** The options every store command takes to find Redis: a config file, or the URL and prefix directly. */
export const STORE_OPTIONS = {
  config: { type: 'string', short: 'c' },
  redis: { type: 'string' },
  'key-prefix': { type: 'string' },
  json: { type: 'boolean' },
} as const;

export const STORE_HELP = `Redis: --config FILE (its gateway.redis), or --redis URL (default $REDIS_URL or redis://127.0.0.1:6379)
and --key-prefix P (default tp); the flags win over the file. --json prints JSON.`;

/** How long a command waits for Redis before saying it cannot reach it. */
const CONNECT_TIMEOUT_MS = 1_000;

/** Where a command finds Redis: the flags, else the config file's gateway.redis, else the environment. */
export function redisTarget(values: { config?: string; redis?: string; 'key-prefix'?: string }): { endpoint: RedisEndpoint; prefix: string } {
  const fromFile = values.config ? loadConfig(values.config).gateway.redis : undefined;
  return {
    // The file's TLS and credentials stay when --redis only points at another address.
    endpoint: { ...fromFile, url: values.redis ?? fromFile?.url ?? process.env.REDIS_URL ?? 'redis://127.0.0.1:6379' },
    prefix: values['key-prefix'] ?? fromFile?.keyPrefix ?? 'tp',
  };
}

/**
 * Connects to Redis for one command, runs `fn`, and disconnects. An unreachable Redis is one line naming
 * the URL and the cause (`connect ECONNREFUSED 127.0.0.1:6379`) within a second, exit 1; so is a
 * StoreError or ControlError (unknown id, invalid input).
 */
export async function withRedis(command: string, endpoint: RedisEndpoint, fn: (redis: RedisClient) => Promise<number>): Promise<number> {
  let redis: RedisClient;
  try {
    redis = connectRedis({ ...endpoint, name: `turnpike-${command}`, maxRetriesPerRequest: 1 });
  } catch (err) {
    // A malformed URL (from --redis or REDIS_URL, which no config validation has seen).
    console.error(`turnpike ${command}: ${(err as Error).message}`);
    return 1;
  }
  try {
    await whenReady(redis, describeRedis(endpoint));
    return await fn(redis);
  } catch (err) {
    if (err instanceof StoreError || err instanceof ControlError || err instanceof UnreachableError) {
      console.error(`turnpike ${command}: ${err.message}`);
      return 1;
    }
    throw err;
  } finally {
    redis.disconnect();
  }
}

/** withRedis with the API key store (keys, plans, usage). */
export function withStore(command: string, values: { config?: string; redis?: string; 'key-prefix'?: string }, fn: (store: ApiKeyStore) => Promise<number>): Promise<number> {
  const { endpoint, prefix } = redisTarget(values);
  return withRedis(command, endpoint, (redis) => fn(new ApiKeyStore(redis, new RedisKeys(prefix))));
}

class UnreachableError extends Error {}

/** Resolves when the connection is ready; rejects with the connection's own error (not a retry count). */
function whenReady(redis: RedisClient, url: string): Promise<void> {
  if (redis.status === 'ready') return Promise.resolve();
  return new Promise((resolve, reject) => {
    let lastError = 'timed out';
    const onError = (err: Error) => (lastError = err.message || (err as NodeJS.ErrnoException).code || String(err));
    const done = (err: Error | null) => {
      clearTimeout(timer);
      redis.off('ready', onReady).off('error', onError);
      if (err) reject(err);
      else resolve();
    };
    const onReady = () => done(null);
    const timer = setTimeout(() => done(new UnreachableError(`cannot reach Redis at ${url}: ${lastError}`)), CONNECT_TIMEOUT_MS);
    redis.on('error', onError).once('ready', onReady);
  });
}

/** Prints rows as aligned columns. */
export function printTable(header: string[], rows: (string | number)[][]): void {
  const all = [header, ...rows.map((r) => r.map(String))];
  const widths = header.map((_, i) => Math.max(...all.map((r) => (r[i] ?? '').length)));
  for (const r of all) console.log(r.map((c, i) => c.padEnd(widths[i] ?? 0)).join('  ').trimEnd());
}
