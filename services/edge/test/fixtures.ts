import { request as httpRequest, type IncomingHttpHeaders, type OutgoingHttpHeaders } from 'node:http';
import pino from 'pino';
import { parseConfig } from '@turnpike/config';
import { Edge } from '@turnpike/edge';
import { SHARED_REDIS_URL, testPrefix } from '@turnpike/testing';

/** An in-process edge on a free port, serving `yaml` (a Turnpike config). */
export async function startEdge(yaml: string, opts: { logger?: pino.Logger } = {}): Promise<Edge> {
  const edge = new Edge({
    config: parseConfig(yaml, 'test.yaml'),
    port: 0,
    host: '127.0.0.1',
    managementPort: 0,
    redisUrl: SHARED_REDIS_URL,
    keyPrefix: testPrefix('edge'),
    logger: opts.logger ?? pino({ level: 'silent' }),
  });
  return edge.start();
}

export interface RawResponse {
  status: number;
  headers: IncomingHttpHeaders;
  body: Buffer;
}

/**
 * A request through node:http, which (unlike fetch) lets a test send hop-by-hop headers, exact paths
 * and chunked bodies as they are.
 */
export function rawRequest(
  port: number,
  opts: { method?: string; path: string; headers?: OutgoingHttpHeaders; body?: Buffer | string | (Buffer | string)[]; host?: string },
): Promise<RawResponse> {
  return new Promise((resolve, reject) => {
    const req = httpRequest({ host: '127.0.0.1', port, method: opts.method ?? 'GET', path: opts.path, headers: { host: opts.host ?? `127.0.0.1:${port}`, ...opts.headers }, agent: false }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode!, headers: res.headers, body: Buffer.concat(chunks) }));
      res.on('error', reject);
    });
    req.on('error', reject);
    if (Array.isArray(opts.body)) {
      for (const part of opts.body) req.write(part);
      req.end();
    } else {
      req.end(opts.body);
    }
  });
}

export const json = (r: RawResponse) => JSON.parse(r.body.toString()) as Record<string, any>;
