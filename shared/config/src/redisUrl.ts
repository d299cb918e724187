/**
 * One string names a Redis deployment, so `--redis URL`, REDIS_URL and `gateway.redis.url` can each
 * describe any of the three an operator runs:
 *
 *   redis://[user:password@]host[:6379][/db]                       one node (rediss:// over TLS)
 *   redis+sentinel://[user:password@]s1[:26379],s2,.../master[/db]   Sentinel-managed master and replicas
 *   redis+cluster://[user:password@]n1[:6379],n2,...                 Redis Cluster, the nodes as seeds
 *
 * `rediss+sentinel://` and `rediss+cluster://` use TLS to every node (and to the sentinels). The user
 * and password are the data nodes' ACL credentials (sentinels have their own, in `gateway.redis.sentinel`).
 */
export type RedisMode = 'single' | 'sentinel' | 'cluster';

export interface RedisHostPort {
  readonly host: string;
  readonly port: number;
}

export interface RedisUrl {
  readonly mode: RedisMode;
  readonly tls: boolean;
  /** One node for `single`; the sentinels for `sentinel`; the seed nodes for `cluster`. Never empty. */
  readonly nodes: readonly [RedisHostPort, ...RedisHostPort[]];
  readonly masterName: string | null;
  readonly db: number;
  readonly username: string | null;
  readonly password: string | null;
}

const FORM = /^(rediss?)(?:\+(sentinel|cluster))?:\/\/(?:([^:@/]*)(?::([^@/]*))?@)?([^/?#]*)(?:\/([^?#]*))?$/;
const USAGE = 'expected redis://[user:password@]host:port[/db], rediss://..., redis+sentinel://host:port,host:port/masterName[/db] or redis+cluster://host:port,host:port';

/** Parses a Redis URL; throws an Error whose message says what is wrong and what the forms are. */
export function parseRedisUrl(url: string): RedisUrl {
  const m = FORM.exec(url.trim());
  if (!m) throw new Error(`"${redactUrl(url)}" is not a Redis URL: ${USAGE}`);
  const [, scheme, kind, user, pass, hostList, path] = m;
  const mode: RedisMode = (kind as RedisMode | undefined) ?? 'single';
  const defaultPort = mode === 'sentinel' ? 26379 : 6379;
  const [first, ...more] = (hostList ?? '').split(',').filter((h) => h !== '').map((h) => hostPort(h, defaultPort, url));
  if (first === undefined) throw new Error(`"${redactUrl(url)}" names no host: ${USAGE}`);
  const nodes = [first, ...more] as const;
  if (mode === 'single' && nodes.length > 1) throw new Error(`"${redactUrl(url)}" names ${nodes.length} hosts: a list of hosts needs redis+sentinel:// or redis+cluster://`);
  const segments = (path ?? '').split('/').filter((s) => s !== '');
  let masterName: string | null = null;
  if (mode === 'sentinel') {
    masterName = segments.shift() ?? null;
    if (!masterName) throw new Error(`"${redactUrl(url)}" names no master: ${USAGE}`);
    masterName = decodeURIComponent(masterName);
  }
  let db = 0;
  const [dbSegment, ...extra] = segments;
  if (dbSegment !== undefined) {
    if (mode === 'cluster') throw new Error(`"${redactUrl(url)}": Redis Cluster has only database 0`);
    if (extra.length > 0 || !/^\d{1,2}$/.test(dbSegment)) throw new Error(`"${redactUrl(url)}": "/${segments.join('/')}" is not a database number`);
    db = Number(dbSegment);
  }
  return {
    mode,
    tls: scheme === 'rediss',
    nodes,
    masterName,
    db,
    username: user ? decodeURIComponent(user) : null,
    password: pass ? decodeURIComponent(pass) : null,
  };
}

function hostPort(text: string, defaultPort: number, url: string): RedisHostPort {
  const m = /^(\[[0-9a-fA-F:.]+\]|[^:[\]]+)(?::(\d{1,5}))?$/.exec(text);
  const port = m?.[2] === undefined ? defaultPort : Number(m[2]);
  const host = m?.[1];
  if (host === undefined || port < 1 || port > 65535) throw new Error(`"${redactUrl(url)}": "${text}" is not host[:port]`);
  return { host: host.replace(/^\[(.*)\]$/, '$1'), port };
}

/** The URL with its password replaced, for logs and error messages. */
export function redactUrl(url: string): string {
  return url.replace(/^([a-z+]+:\/\/[^:@/]*:)[^@/]*@/, '$1***@');
}
