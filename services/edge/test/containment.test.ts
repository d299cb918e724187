import { Writable } from 'node:stream';
import pino from 'pino';
import { expect, it } from 'vitest';
import { parseConfig } from '@turnpike/config';
import { Edge } from '@turnpike/edge';
import { SHARED_REDIS_URL, testPrefix } from '@turnpike/testing';
import { rawRequest } from './fixtures.js';

it('an exception thrown while finishing a request is contained to it and logged with its request id', async () => {
  const lines: Record<string, unknown>[] = [];
  const sink = new Writable({
    write(chunk: Buffer, _enc, done) {
      for (const l of chunk.toString().split('\n')) if (l) lines.push(JSON.parse(l) as Record<string, unknown>);
      done();
    },
  });
  const edge = await new Edge({
    config: parseConfig(`
apis:
  - name: a
    routes:
      GET /boom: { integration: { type: mock, body: '{"ok":true}' } }
      GET /fine: { integration: { type: mock, body: '{"fine":true}' } }
`),
    port: 0,
    host: '127.0.0.1',
    managementPort: -1,
    redisUrl: SHARED_REDIS_URL,
    keyPrefix: testPrefix('contain'),
    logger: pino({ level: 'error' }, sink),
    // Runs inside uWS's request callback: before containment, a throw here ended the process.
    observer: (ctx) => {
      if (ctx.path === '/boom') throw new Error('observer exploded');
    },
  }).start();
  try {
    const r = await rawRequest(edge.port, { path: '/boom' });
    expect(r.status).toBe(200);
    expect((await rawRequest(edge.port, { path: '/fine' })).status).toBe(200);
    const logged = lines.find((l) => l.requestId === r.headers['x-amzn-requestid']);
    expect(logged).toMatchObject({ msg: 'request observer failed', err: { message: 'observer exploded' } });
  } finally {
    await edge.stop(1000);
  }
});
