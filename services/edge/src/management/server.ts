/// <reference path="../types/uws-augment.d.ts" />
import uWS from 'uWebSockets.js';
import type { us_listen_socket } from 'uWebSockets.js';

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

/**
 * The management listener: `/healthz` (the process is alive), `/readyz` (config loaded and Redis
 * reachable), `/metrics`. It is a separate port, bound to loopback by default, so no user API route can
 * shadow it and it is not exposed where the APIs are.
 */
export async function startManagement(opts: ManagementOptions): Promise<ManagementServer> {
  const app = uWS.App();
  let closed = false;
  app.get('/healthz', (res) => {
    res.writeHeader('content-type', 'application/json').end('{"status":"ok"}');
  });
  app.get('/readyz', (res) => {
    let aborted = false;
    res.onAborted(() => (aborted = true));
    void opts.ready().then((r) => {
      if (aborted) return;
      res.cork(() => {
        res.writeStatus(r.ok ? '200 OK' : '503 Service Unavailable').writeHeader('content-type', 'application/json');
        res.end(JSON.stringify({ status: r.ok ? 'ready' : 'not ready', checks: r.checks }));
      });
    });
  });
  app.get('/metrics', (res) => {
    if (!opts.metrics) {
      res.writeStatus('404 Not Found').writeHeader('content-type', 'application/json').end('{"message":"metrics are disabled"}');
      return;
    }
    let aborted = false;
    res.onAborted(() => (aborted = true));
    opts.metrics().then(
      (text) => !aborted && res.cork(() => res.writeHeader('content-type', 'text/plain; version=0.0.4').end(text)),
      (err: Error) => !aborted && res.cork(() => res.writeStatus('500 Internal Server Error').end(err.message)),
    );
  });
  app.any('/*', (res) => {
    res.writeStatus('404 Not Found').writeHeader('content-type', 'application/json').end('{"message":"Not Found"}');
  });
  const socket = await new Promise<us_listen_socket>((resolve, reject) =>
    app.listen(opts.host, opts.port, (s) => (s ? resolve(s) : reject(new Error(`management listener cannot listen on ${opts.host}:${opts.port}`)))),
  );
  return {
    port: uWS.getSocketPort(socket),
    close: async () => {
      // Idempotent: closing a listen socket twice crashes uWS (an edge stopped twice, e.g. by a test and its teardown).
      if (closed) return;
      closed = true;
      uWS.closeSocket(socket);
      app.close();
    },
  };
}
