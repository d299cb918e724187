import pino from 'pino';
import { Redis } from 'ioredis';
import { Gateway, type TurnpikeConfig } from '@turnpike/config';
import { ControlCallError, ControlClient, ControlServer } from '@turnpike/control';
import { Edge, type EdgeOptions } from '@turnpike/edge';
import { AdminTokenStore, RedisKeys, type DeploymentRecord, type StageRecord } from '@turnpike/redis';
import { SHARED_REDIS_URL, deletePrefix, testPrefix } from '@turnpike/testing';

export const silent = pino({ level: 'silent' });

/** A control service on a free port with its own key prefix, and a client holding a `*` token. */
export interface ControlPlane {
  readonly prefix: string;
  readonly server: ControlServer;
  readonly client: ControlClient;
  readonly url: string;
  /** A client whose token has exactly `scopes`. */
  clientWith(scopes: string[]): Promise<ControlClient>;
  /** An in-process edge following this control plane. */
  edge(opts?: Partial<EdgeOptions>): Promise<Edge>;
  close(): Promise<void>;
}

export async function startControlPlane(name: string): Promise<ControlPlane> {
  const prefix = testPrefix(name);
  const server = await new ControlServer({ redis: { url: SHARED_REDIS_URL }, keyPrefix: prefix, host: '127.0.0.1', port: 0, logger: silent }).start();
  const url = `http://127.0.0.1:${server.port}`;
  const admin = new Redis(SHARED_REDIS_URL);
  const tokens = new AdminTokenStore(admin, new RedisKeys(prefix));
  const clientWith = async (scopes: string[]) => new ControlClient(url, (await tokens.create({ name: `test ${scopes.join(' ').replace('*', 'all')}`, scopes, by: 'test' })).token);
  const client = await clientWith(['*']);
  const edges: Edge[] = [];
  return {
    prefix,
    server,
    client,
    url,
    clientWith,
    async edge(opts = {}) {
      const edge = new Edge({ config: baseConfig(), port: 0, host: '127.0.0.1', managementPort: 0, redisUrl: SHARED_REDIS_URL, keyPrefix: prefix, logger: silent, control: { pollMs: 500 }, ...opts });
      edges.push(edge);
      return edge.start();
    },
    async close() {
      await Promise.all(edges.map((e) => e.stop(1000)));
      await server.close();
      admin.disconnect();
      await deletePrefix(SHARED_REDIS_URL, prefix);
    },
  };
}

/** Gateway defaults and no APIs: what `turnpike edge --control` runs with when given no file. */
export function baseConfig(gateway: Record<string, unknown> = {}): TurnpikeConfig {
  return { file: 'control plane', gateway: Gateway.parse(gateway), apis: [], functions: {}, warnings: [] };
}

/** A REST API whose routes are mock integrations answering `body`. */
export function mockApi(body: string, extra: Record<string, unknown> = {}) {
  return { routes: { 'GET /which': { integration: { type: 'mock', body } } }, ...extra };
}

export async function putAndDeploy(client: ControlClient, api: string, definition: object, stage = 'prod'): Promise<{ deployment: DeploymentRecord; stage: StageRecord }> {
  await client.call('PUT', `/v1/apis/${api}`, { body: { definition } });
  return client.call('POST', `/v1/apis/${api}/deployments`, { body: { stage } });
}

/** Resolves once `edge` has loaded (served or refused) control-plane revision `revision` or a later one. */
export function loadedRevision(edge: Edge, revision: number, timeoutMs = 5_000): Promise<{ revision: number; ok: boolean }> {
  const follower = edge.control!;
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      follower.off('reload', onReload);
      reject(new Error(`edge did not load revision ${revision} within ${timeoutMs} ms (serves ${follower.revision}; ${follower.readiness().detail})`));
    }, timeoutMs);
    const onReload = (r: { revision: number; ok: boolean }) => {
      if (r.revision < revision) return;
      clearTimeout(timer);
      follower.off('reload', onReload);
      resolve(r);
    };
    if (follower.revision >= revision || (follower.refused?.revision ?? -1) >= revision) {
      clearTimeout(timer);
      resolve(follower.revision >= revision ? { revision: follower.revision, ok: true } : { revision: follower.refused!.revision, ok: false });
    } else follower.on('reload', onReload);
  });
}

/** 'ok', or the admin API's HTTP status for a call it refused. */
export async function status(p: Promise<unknown>): Promise<number | string> {
  try {
    await p;
    return 'ok';
  } catch (err) {
    if (err instanceof ControlCallError) return err.status;
    throw err;
  }
}
