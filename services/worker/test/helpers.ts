import { execFile } from 'node:child_process';
import { request as httpRequest, type IncomingHttpHeaders, type OutgoingHttpHeaders } from 'node:http';
import { TURNPIKE_BIN } from '@turnpike/testing';

export interface Response {
  status: number;
  headers: IncomingHttpHeaders;
  body: Buffer;
}

/** A request through node:http: repeated headers (array values) go out as repeated header lines. */
export function request(port: number, opts: { method?: string; path: string; headers?: OutgoingHttpHeaders; body?: Buffer | string }): Promise<Response> {
  return new Promise((resolve, reject) => {
    const req = httpRequest({ host: '127.0.0.1', port, method: opts.method ?? 'GET', path: opts.path, headers: opts.headers, agent: false }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode!, headers: res.headers, body: Buffer.concat(chunks) }));
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end(opts.body);
  });
}

export const json = (r: Response) => JSON.parse(r.body.toString()) as Record<string, any>;

/** Runs `turnpike ...args` to completion (CLI commands such as `dlq`). */
export function turnpike(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, [TURNPIKE_BIN, ...args], (err, stdout, stderr) => resolve({ code: err ? ((err as { code?: number }).code ?? 1) : 0, stdout, stderr }));
  });
}

/** Polls `check` until it returns a value other than undefined, for conditions no event announces. */
export async function eventually<T>(check: () => T | undefined | Promise<T | undefined>, what: string, timeoutMs = 15_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await check();
    if (v !== undefined) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

export const FIXTURES = new URL('./fixtures/', import.meta.url).pathname;
export const EXAMPLES = new URL('../../../examples/functions/', import.meta.url).pathname;
