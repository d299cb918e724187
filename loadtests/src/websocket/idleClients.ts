/**
 * A client process for the websocket benchmark (forked with an IPC channel by suites/websocket.ts).
 * It holds many WebSocket connections from one source address with bare sockets: the handshake is
 * written by hand and frames are only counted, so one process can hold ~18,000 connections (the
 * open-files limit is 20,000) and the measurement is of the server, not of a client library.
 *
 * Source addresses: a socket bound to an address before connecting (localAddress) gets its port from a
 * search of that address's whole port range, which slows down sharply once a few thousand are taken; so
 * connections rotate over `addresses` source addresses, a few thousand each.
 *
 * Parent → child: {type:'connect', port, host, path, count, addresses: ['127.0.0.x', ...], concurrency}, {type:'stats'}, {type:'close'}.
 * Child → parent: {type:'connected', ok, failed, ms, firstError}, {type:'stats', bytes, open}.
 */
import { connect, type Socket } from 'node:net';

interface ConnectCommand {
  type: 'connect';
  host: string;
  port: number;
  path: string;
  count: number;
  addresses: string[];
  concurrency: number;
}

const sockets: Socket[] = [];
let bytes = 0;
let open = 0;

const KEY = 'dGhlIHNhbXBsZSBub25jZQ==';
// A masked, empty pong (clients must mask): the answer to uWS's automatic pings.
const PONG = Buffer.from([0x8a, 0x80, 0, 0, 0, 0]);

/** `localAddress` undefined (no source addresses given): the system picks one. */
function openOne(c: ConnectCommand, localAddress: string | undefined): Promise<void> {
  return new Promise((resolve, reject) => {
    const s = connect({ host: c.host, port: c.port, localAddress });
    let upgraded = false;
    let head = '';
    s.setNoDelay(true);
    s.on('connect', () => {
      s.write(`GET ${c.path} HTTP/1.1\r\nHost: ${c.host}:${c.port}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: ${KEY}\r\nSec-WebSocket-Version: 13\r\n\r\n`);
    });
    s.on('data', (d: Buffer) => {
      if (!upgraded) {
        head += d.toString('latin1');
        const end = head.indexOf('\r\n\r\n');
        if (end < 0) return;
        if (!head.startsWith('HTTP/1.1 101')) {
          s.destroy();
          reject(new Error(head.split('\r\n')[0]));
          return;
        }
        upgraded = true;
        open++;
        sockets.push(s);
        resolve();
        const rest = Buffer.from(head.slice(end + 4), 'latin1');
        if (rest.length) count(s, rest);
        return;
      }
      count(s, d);
    });
    s.on('error', (err) => {
      if (!upgraded) reject(err);
    });
    s.on('close', () => {
      if (upgraded) open--;
    });
  });
}

/**
 * Counts received bytes; the benchmark sends frames of one known size and divides. uWS's automatic
 * pings (an empty 0x89 frame, alone in its chunk on an idle socket) are answered, not counted.
 */
function count(s: Socket, d: Buffer): void {
  if (d.length === 2 && d[0] === 0x89) s.write(PONG);
  else bytes += d.length;
}

async function connectAll(c: ConnectCommand): Promise<void> {
  const started = performance.now();
  let ok = 0;
  let failed = 0;
  let firstError: string | null = null;
  let next = 0;
  const worker = async () => {
    while (next < c.count) {
      const i = next++;
      try {
        await openOne(c, c.addresses[i % c.addresses.length]);
        ok++;
      } catch (err) {
        failed++;
        firstError ??= (err as Error).message;
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(c.concurrency, c.count) }, worker));
  process.send!({ type: 'connected', ok, failed, ms: performance.now() - started, firstError });
}

process.on('message', (m: { type: string }) => {
  if (m.type === 'connect') void connectAll(m as ConnectCommand);
  else if (m.type === 'stats') process.send!({ type: 'stats', bytes, open });
  else if (m.type === 'close') {
    for (const s of sockets) s.destroy();
    process.exit(0);
  }
});
process.send!({ type: 'ready' });
