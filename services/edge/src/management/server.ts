import { createServer, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface ManagementOptions {
  host: string;
  port: number;
  /** Readiness: config loaded and dependencies reachable. */
  ready: () => Promise<{ ok: boolean; checks: Record<string, string> }>;
  /** Prometheus text exposition, when metrics are enabled. */
  metrics?: () => Promise<string>;
}

export interface ManagementServer {
  readonly port: number;
  close(): Promise<void>;
}

function send(res: ServerResponse, status: number, type: string, body: string): void {
  if (res.destroyed) return;
  res.writeHead(status, { 'content-type': type, 'content-length': Buffer.byteLength(body) }).end(body);
}

/**
 * The management listener: `/healthz` (the process is alive), `/readyz` (config loaded and Redis
 * reachable), `/metrics`. It is a separate port, bound to loopback by default, so no user API route can
 * shadow it and it is not exposed where the APIs are.
 *
 * It is node:http, not uWebSockets.js: load balancers' health checks and ApacheBench speak HTTP/1.0,
 * which uWS answers with 505 (docs/edge.md, "HTTP/1.1 conformance"). Its traffic is a few requests a
 * second, so the parser's speed does not matter here.
 */
export async function startManagement(opts: ManagementOptions): Promise<ManagementServer> {
  const server = createServer((req, res) => {
    const path = (req.url ?? '/').split('?')[0];
    if (req.method !== 'GET' && req.method !== 'HEAD') return send(res, 405, 'application/json', '{"message":"Method Not Allowed"}');
    if (path === '/healthz') return send(res, 200, 'application/json', '{"status":"ok"}');
    if (path === '/readyz') {
      void opts.ready().then(
        (r) => send(res, r.ok ? 200 : 503, 'application/json', JSON.stringify({ status: r.ok ? 'ready' : 'not ready', checks: r.checks })),
        (err: Error) => send(res, 503, 'application/json', JSON.stringify({ status: 'not ready', checks: { error: err.message } })),
      );
      return;
    }
    if (path === '/metrics') {
      if (!opts.metrics) return send(res, 404, 'application/json', '{"message":"metrics are disabled"}');
      opts.metrics().then(
        (text) => send(res, 200, 'text/plain; version=0.0.4', text),
        (err: Error) => send(res, 500, 'text/plain', err.message),
      );
      return;
    }
    send(res, 404, 'application/json', '{"message":"Not Found"}');
  });
  // A scraper or probe that keeps its connection open must not hold shutdown up.
  server.keepAliveTimeout = 5_000;
  await new Promise<void>((resolve, reject) => {
    server.once('error', (err) => reject(new Error(`management listener cannot listen on ${opts.host}:${opts.port}: ${err.message}`)));
    server.listen(opts.port, opts.host, () => resolve());
  });
  return {
    port: (server.address() as AddressInfo).port,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
