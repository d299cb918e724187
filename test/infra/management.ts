// The edge's real management listener, to ask whether a health-check path exists on it.
import { startManagement, type ManagementServer } from '@turnpike/edge/internals';

export function startReadyManagement(): Promise<ManagementServer> {
  return startManagement({ host: '127.0.0.1', port: 0, ready: async () => ({ ok: true, checks: { redis: 'ok' } }), metrics: async () => '' });
}

/** The status the management listener answers for GET `path` (its catch-all answers 404). */
export async function managementStatus(server: ManagementServer, path: string): Promise<number> {
  return (await fetch(`http://127.0.0.1:${server.port}${path}`)).status;
}
