import { readFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:net';

/**
 * uWebSockets.js listens with SO_REUSEPORT, so a second process on the same port "succeeds" and silently
 * takes part of the traffic, and a port held by a process without SO_REUSEPORT fails with no errno.
 * Before listening, an edge therefore claims its port:
 *
 * - port 0 (a fresh port) needs no claim;
 * - a free port is claimed by binding it briefly without SO_REUSEPORT (which fails if anyone holds it);
 * - a port in use is shared only when the edge was started with a port group and a live edge of that
 *   same group holds it. Edges of a group advertise themselves with an abstract Unix socket named
 *   `@turnpike-port/<port>/<group>/<pid>`; the kernel lists those in /proc/net/unix and removes them
 *   when the process dies, so a crashed member never vouches for a stranger.
 */
export class PortInUseError extends Error {
  readonly code = 'TP_PORT_IN_USE';
}

const ADVERT_PREFIX = 'turnpike-port/';

export interface PortClaim {
  /** Stops advertising the port group (on shutdown). */
  release(): Promise<void>;
}

const NO_CLAIM: PortClaim = { release: async () => {} };

/** What a listener is for, in error messages: `port 8080` or `management port 9090`. */
export async function claimPort(host: string, port: number, group: string | null, what = 'port'): Promise<void> {
  if (port === 0) return;
  const err = await tryBind(host, port);
  if (err === null) return;
  if (err.code !== 'EADDRINUSE') throw new PortInUseError(`${what} ${port} on ${host} cannot be used (${err.code ?? err.message})`);
  const groups = await advertisedGroups(port);
  if (group !== null && groups.has(group)) return;
  const holder =
    groups.size > 0
      ? `by another Turnpike gateway (port group ${[...groups].map((g) => JSON.stringify(g)).join(', ')})`
      : 'by another process';
  const hint = group === null ? '; edges share a port only when started with the same --port-group' : `; this edge's port group is "${group}"`;
  throw new PortInUseError(`${what} ${port} is in use (EADDRINUSE) ${holder}${hint}`);
}

/** After a successful listen: lets later edges of `group` share `port`. */
export async function advertisePortGroup(port: number, group: string | null): Promise<PortClaim> {
  if (group === null || process.platform !== 'linux') return NO_CLAIM;
  const server = createServer((s) => s.destroy());
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(`\0${ADVERT_PREFIX}${port}/${encodeURIComponent(group)}/${process.pid}`, () => resolve());
  });
  server.unref();
  return { release: () => new Promise<void>((resolve) => server.close(() => resolve())) };
}

function tryBind(host: string, port: number): Promise<NodeJS.ErrnoException | null> {
  return new Promise((resolve) => {
    const s: Server = createServer();
    s.once('error', (err: NodeJS.ErrnoException) => resolve(err));
    s.listen({ host, port, exclusive: true }, () => s.close(() => resolve(null)));
  });
}

async function advertisedGroups(port: number): Promise<Set<string>> {
  const groups = new Set<string>();
  let table: string;
  try {
    table = await readFile('/proc/net/unix', 'utf8');
  } catch {
    return groups;
  }
  const marker = `@${ADVERT_PREFIX}${port}/`;
  for (const line of table.split('\n')) {
    const at = line.indexOf(marker);
    if (at < 0) continue;
    const rest = line.slice(at + marker.length).trim();
    const slash = rest.lastIndexOf('/');
    if (slash > 0) groups.add(decodeURIComponent(rest.slice(0, slash)));
  }
  return groups;
}
