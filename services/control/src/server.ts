import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Logger } from 'pino';
import { AdminTokenStore, ApiKeyStore, ControlError, ControlStore, NodeHeartbeats, StoreError, connectRedis, scopeAllows, RedisKeys, type RedisClient, type RedisEndpoint } from '@turnpike/redis';
import { ApiError, Reply, Router, parseIfMatch, readJson } from './http.js';
import { apiRoutes } from './apiRoutes.js';
import { accessRoutes } from './accessRoutes.js';
import { fleetRoutes } from './fleetRoutes.js';
import { ConsoleAssets } from './consoleAssets.js';
import { MetricsCollector } from './metrics/collector.js';

export interface ControlServerOptions {
  /** gateway.redis of the config (any mode, TLS, ACL): the control plane lives in the gateway's Redis. */
  redis: RedisEndpoint;
  keyPrefix: string;
  host: string;
  /** 0 picks a free port. */
  port: number;
  logger: Logger;
  /** How often the edges' /metrics are scraped for the console (default 1 s). */
  metricsIntervalMs?: number;
  /** The built console (default: services/control/dist/console); null serves none. */
  consoleDir?: string | null;
}

/**
 * The admin HTTP API (`turnpike control`, services/control/openapi.yaml): JSON in and out, every call
 * authenticated by an admin token (`Authorization: Bearer tpa_...`) whose scopes allow it. It runs as its
 * own process on its own listener, never on an edge's public one. Changes are compare-and-set: a write
 * with `If-Match: "<version>"` applies only to that version; without it, to the version read when the
 * call arrived; either way a concurrent change is a 409, never lost.
 */
export class ControlServer {
  readonly redis: RedisClient;
  readonly store: ControlStore;
  readonly tokens: AdminTokenStore;
  readonly router = new Router();
  readonly metrics: MetricsCollector;
  private readonly console: ConsoleAssets | null;
  private readonly server: Server;
  port = -1;

  constructor(private readonly opts: ControlServerOptions) {
    this.redis = connectRedis({ ...opts.redis, name: 'turnpike-control', maxRetriesPerRequest: 2 });
    const keys = new RedisKeys(opts.keyPrefix);
    this.store = new ControlStore(this.redis, keys);
    this.tokens = new AdminTokenStore(this.redis, keys);
    apiRoutes(this.router, this.store);
    accessRoutes(this.router, { redis: this.redis, keys, apiKeys: new ApiKeyStore(this.redis, keys), tokens: this.tokens });
    const nodes = new NodeHeartbeats(this.redis, keys);
    this.metrics = new MetricsCollector({ nodes, logger: opts.logger, intervalMs: opts.metricsIntervalMs });
    fleetRoutes(this.router, { redis: this.redis, keys, nodes, metrics: this.metrics });
    this.console = ConsoleAssets.load(opts.consoleDir);
    this.server = createServer((req, res) => void this.handle(req, res));
    this.server.keepAliveTimeout = 5_000;
  }

  async start(): Promise<this> {
    await new Promise<void>((resolve, reject) => {
      this.server.once('error', reject);
      this.server.listen(this.opts.port, this.opts.host, () => resolve());
    });
    this.port = (this.server.address() as AddressInfo).port;
    this.metrics.start();
    this.opts.logger.info({ host: this.opts.host, port: this.port, console: this.console ? `/console/` : 'not built (npm run build)' }, 'control API listening');
    return this;
  }

  async close(): Promise<void> {
    await this.metrics.stop();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
    this.server.closeAllConnections();
    this.redis.disconnect();
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const method = req.method ?? 'GET';
    const url = new URL(req.url ?? '/', 'http://control');
    let who = '-';
    if (this.console?.serve(req, res, url.pathname)) return;
    try {
      const token = await this.authenticate(req);
      who = token.name;
      // Who is signed in, whatever the scopes: the console's sign-in check.
      if (url.pathname === '/v1/whoami' && method === 'GET') return send(res, 200, { name: token.name, scopes: token.scopes });
      const { route, params } = this.router.find(method, url.pathname);
      if (!scopeAllows(token.scopes, route.area, route.access)) throw new ApiError(403, 'forbidden', `the token "${token.name}" lacks the scope ${route.area}:${route.access}`);
      const body = await readJson(req);
      const out = await route.handler({ params, query: url.searchParams, body, expectedVersion: parseIfMatch(header(req, 'if-match')), by: token.name });
      if (out instanceof Reply) send(res, out.status, out.body);
      else send(res, 200, out);
    } catch (err) {
      const e = asApiError(err);
      if (e.status >= 500) this.opts.logger.error({ err, method, path: url.pathname }, 'control API request failed');
      if (e.status === 401) res.setHeader('www-authenticate', 'Bearer realm="turnpike-control"');
      if (e.status === 405) res.setHeader('allow', (e.extra.allow as string[]).join(', '));
      send(res, e.status, { error: { code: e.code, message: e.message, ...e.extra } });
    } finally {
      this.opts.logger.debug({ method, path: url.pathname, status: res.statusCode, by: who }, 'control API');
    }
  }

  private async authenticate(req: IncomingMessage) {
    const auth = header(req, 'authorization');
    if (auth === undefined) throw new ApiError(401, 'unauthenticated', 'send an admin token: Authorization: Bearer tpa_... (turnpike control tokens create)');
    const bearer = /^Bearer\s+(\S+)$/i.exec(auth)?.[1];
    const token = bearer === undefined ? null : await this.tokens.verify(bearer);
    if (token === null) throw new ApiError(401, 'unauthenticated', 'the admin token is malformed, unknown or revoked');
    return token;
  }
}

function header(req: IncomingMessage, name: string): string | undefined {
  const v = req.headers[name];
  return Array.isArray(v) ? v[0] : v;
}

function send(res: ServerResponse, status: number, body: unknown): void {
  if (body === undefined || status === 204) {
    res.writeHead(status).end();
    return;
  }
  const text = JSON.stringify(body);
  // Admin data is never cached by a browser or a proxy.
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text), 'cache-control': 'no-store' }).end(text);
}

const STORE_STATUS: Record<string, number> = { TP_KEY_NOT_FOUND: 404, TP_PLAN_NOT_FOUND: 404, TP_PLAN_CONFLICT: 409, TP_INVALID: 400 };
const CONTROL_STATUS: Record<string, number> = { not_found: 404, conflict: 409, invalid: 400 };

function asApiError(err: unknown): ApiError {
  if (err instanceof ApiError) return err;
  if (err instanceof ControlError) return new ApiError(CONTROL_STATUS[err.code] ?? 500, err.code, err.message, err.currentVersion !== undefined ? { currentVersion: err.currentVersion } : {});
  if (err instanceof StoreError) {
    const status = STORE_STATUS[err.code] ?? 400;
    return new ApiError(status, status === 404 ? 'not_found' : status === 409 ? 'conflict' : 'invalid', err.message);
  }
  return new ApiError(500, 'internal', 'internal error (see the control service log)');
}
