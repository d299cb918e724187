import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadConfig, parseRedisUrl } from '@turnpike/config';
import { issuesOf } from './issues.js';

describe('Redis URLs', () => {
  it('reads one node, Sentinel and Cluster forms with credentials, TLS and database', () => {
    expect(parseRedisUrl('redis://127.0.0.1:6380/2')).toEqual({ mode: 'single', tls: false, nodes: [{ host: '127.0.0.1', port: 6380 }], masterName: null, db: 2, username: null, password: null });
    expect(parseRedisUrl('rediss://app:s%40cret@cache.example.com')).toMatchObject({ mode: 'single', tls: true, nodes: [{ host: 'cache.example.com', port: 6379 }], username: 'app', password: 's@cret' });
    expect(parseRedisUrl('redis+sentinel://:pw@s1,s2:26380,[::1]/mymaster/1')).toEqual({
      mode: 'sentinel',
      tls: false,
      nodes: [{ host: 's1', port: 26379 }, { host: 's2', port: 26380 }, { host: '::1', port: 26379 }],
      masterName: 'mymaster',
      db: 1,
      username: null,
      password: 'pw',
    });
    expect(parseRedisUrl('rediss+cluster://n1:7000,n2:7001')).toMatchObject({ mode: 'cluster', tls: true, nodes: [{ host: 'n1', port: 7000 }, { host: 'n2', port: 7001 }] });
  });

  it.each([
    ['http://h:1', 'is not a Redis URL'],
    ['redis://h1,h2', 'a list of hosts needs redis+sentinel:// or redis+cluster://'],
    ['redis+sentinel://s1:26379', 'names no master'],
    ['redis+cluster://n1/3', 'Redis Cluster has only database 0'],
    ['redis://h:99999', '"h:99999" is not host[:port]'],
    ['redis://user:topsecret@h/x', '"/x" is not a database number'],
  ])('refuses %s, saying why', (url, message) => {
    expect(() => parseRedisUrl(url)).toThrow(message);
  });

  it('never repeats a password in an error', () => {
    expect(() => parseRedisUrl('redis://user:topsecret@h/x')).toThrow(/user:\*\*\*@h/);
  });

  it('names the file, field and line of a bad gateway.redis, and resolves TLS files next to the config', () => {
    const dir = mkdtempSync(join(tmpdir(), 'tp-redisurl-'));
    const bad = join(dir, 'bad.yaml');
    writeFileSync(bad, 'gateway:\n  redis:\n    url: "redis+cluster://"\n    tls: { caFile: missing-ca.pem, certFile: c.pem }\napis:\n  - name: a\n    stages: { prod: {} }\n    routes: { GET /: { integration: { type: mock } } }\n');
    const issues = issuesOf(() => loadConfig(bad));
    expect(issues).toEqual(expect.arrayContaining([expect.objectContaining({ file: bad, path: 'gateway.redis.url', line: 3, message: expect.stringContaining('names no host') })]));
    writeFileSync(join(dir, 'ca.pem'), 'x');
    const good = join(dir, 'good.yaml');
    writeFileSync(good, 'gateway:\n  redis:\n    url: redis+sentinel://s1,s2,s3/main\n    password: pw\n    tls: { caFile: ca.pem }\n    sentinel: { password: spw }\napis:\n  - name: a\n    stages: { prod: {} }\n    routes: { GET /: { integration: { type: mock } } }\n');
    const redis = loadConfig(good).gateway.redis;
    expect(redis).toMatchObject({ url: 'redis+sentinel://s1,s2,s3/main', password: 'pw', sentinel: { password: 'spw' }, tls: { caFile: join(dir, 'ca.pem'), rejectUnauthorized: true } });
    const files = join(dir, 'files.yaml');
    writeFileSync(files, 'gateway:\n  redis:\n    tls: { caFile: missing-ca.pem, certFile: ca.pem }\napis:\n  - name: a\n    stages: { prod: {} }\n    routes: { GET /: { integration: { type: mock } } }\n');
    expect(issuesOf(() => loadConfig(files)).map((i) => `${i.path}: ${i.message}`)).toEqual([`gateway.redis.tls.caFile: cannot read ${join(dir, 'missing-ca.pem')}`, 'gateway.redis.tls: a client certificate needs both certFile and keyFile']);
  });

  it('refuses a replicaAck wait longer than gateway.redis.timeoutMs, which bounds every request-path call', () => {
    const dir = mkdtempSync(join(tmpdir(), 'tp-redisack-'));
    const file = (redis: string) => {
      const f = join(dir, 'ack.yaml');
      writeFileSync(f, `gateway:\n  redis: ${redis}\napis:\n  - name: a\n    stages: { prod: {} }\n    routes: { GET /: { integration: { type: mock } } }\n`);
      return f;
    };
    const f = file('{ replicaAck: { replicas: 1, timeoutMs: 800 } }');
    expect(issuesOf(() => loadConfig(f))).toEqual([expect.objectContaining({ file: f, path: 'gateway.redis.replicaAck.timeoutMs', message: expect.stringContaining('must not exceed gateway.redis.timeoutMs (500)') })]);
    expect(loadConfig(file('{ timeoutMs: 800, replicaAck: { replicas: 1, timeoutMs: 800 } }')).gateway.redis).toMatchObject({ timeoutMs: 800, replicaAck: { replicas: 1, timeoutMs: 800 } });
  });
});
