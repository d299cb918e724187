/**
 * Every Redis key Turnpike writes, in one place. Keys a Lua script touches together share a hash tag
 * (`{...}`), so each script's keys live in one Cluster slot and the scripts run on Redis Cluster unchanged.
 * The prefix isolates deployments (and test runs) sharing one Redis.
 */
export class RedisKeys {
  constructor(readonly prefix: string) {}

  /** Tag one logical entity: every key built from the same tag lands in the same slot. */
  tagged(kind: string, id: string, ...rest: string[]): string {
    return `${this.prefix}:${kind}:{${id}}${rest.length ? ':' + rest.join(':') : ''}`;
  }

  /** Pattern matching every key of this prefix (cleanup in tests and tools). */
  get all(): string {
    return `${this.prefix}:*`;
  }
}
