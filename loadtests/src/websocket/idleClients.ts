/**
 * A client process for the websocket benchmarks (started by clientProcess.ts; idleClient.c does the same
 * job in C with a fraction of the memory, BENCH_WSS_CLIENT=c). It holds many WebSocket connections with
 * bare sockets: the handshake is written by hand and frames are only counted, so one process can hold
 * ~18,000 connections (the open-files limit is 20,000) and the measurement is of the server, not of a
 * client library.
 *
 * Source addresses: a socket bound to an address before connecting (localAddress) gets its port from a
 * search of that address's whole port range, which slows down sharply once a few thousand are taken; so
 * connections rotate over `addresses` source addresses, a few thousand each.
 *
 * Messages are JSON lines, parent → child on stdin, child → parent on stdout:
 * {type:'connect', port, host, path, count, addresses: ['127.0.0.x', ...], concurrency}, {type:'stats'}, {type:'close'};
 * {type:'ready'}, {type:'connected', ok, failed, ms, firstError}, {type:'stats', bytes, open}.
 * `bytes` are the payload bytes of data frames received. Stdin closing ends the process like 'close'.
 */
import { connect, type Socket } from 'node:net';
import { createInterface } from 'node:readline';

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
// A masked, empty pong (clients must mask): the answer to uWS's automatic pings, which carry no payload.
const PONG = Buffer.from([0x8a, 0x80, 0, 0, 0, 0]);

function send(m: Record<string, unknown>): void {
  process.stdout.write(`${JSON.stringify(m)}\n`);
}

/** `localAddress` undefined (no source addresses given): the system picks one. */
function openOne(c: ConnectCommand, localAddress: string | undefined): Promise<void> {
  return new Promise((resolve, reject) => {
    const s = connect({ host: c.host, port: c.port, localAddress });
    let upgraded = false;
    let head = '';
    const frames = frameReader(() => s.write(PONG));
    const read = (d: Buffer) => {
      try {
        bytes += frames(d);
      } catch (err) {
        s.destroy(err as Error);
      }
    };
    s.setNoDelay(true);
    s.on('connect', () => {
      s.write(`GET ${c.path} HTTP/1.1\r\nHost: ${c.host}:${c.port}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: ${KEY}\r\nSec-WebSocket-Version: 13\r\n\r\n`);
    });
    s.on('data', (d: Buffer) => {
      if (upgraded) return read(d);
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
      if (rest.length) read(rest);
    });
    s.on('error', (err) => {
      if (!upgraded) reject(err);
    });
    s.on('close', () => {
      if (upgraded) open--;
      else reject(new Error('connection closed before the handshake response'));
    });
  });
}

/**
 * Reads a connection's server frames (RFC 6455: unmasked) from its chunks, whatever their boundaries:
 * returns the payload bytes of data frames in each chunk and calls `onPing` for each ping. Throws on a
 * masked frame (a client must close then). The same state machine as read_frames in idleClient.c.
 */
function frameReader(onPing: () => void): (d: Buffer) => number {
  let phase: 'start' | 'length' | 'extendedLength' | 'payload' = 'start';
  let opcode = 0;
  let lengthLeft = 0;
  let remaining = 0;
  return (d) => {
    let counted = 0;
    let i = 0;
    while (i < d.length) {
      if (phase === 'start') {
        opcode = (d[i++] as number) & 0x0f;
        phase = 'length';
      } else if (phase === 'length') {
        const b = d[i++] as number;
        if (b & 0x80) throw new Error('masked frame from the server');
        const length = b & 0x7f;
        remaining = length < 126 ? length : 0;
        lengthLeft = length === 126 ? 2 : length === 127 ? 8 : 0;
        phase = lengthLeft ? 'extendedLength' : 'payload';
      } else if (phase === 'extendedLength') {
        remaining = remaining * 256 + (d[i++] as number);
        if (--lengthLeft === 0) phase = 'payload';
      } else {
        const n = Math.min(remaining, d.length - i);
        if (opcode < 0x8) counted += n; // continuation, text, binary
        remaining -= n;
        i += n;
      }
      if (phase === 'payload' && remaining === 0) {
        // The frame is complete (its header was the last bytes for an empty one).
        if (opcode === 0x9) onPing();
        phase = 'start';
      }
    }
    return counted;
  };
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
  send({ type: 'connected', ok, failed, ms: performance.now() - started, firstError });
}

function closeAll(): never {
  for (const s of sockets) s.destroy();
  process.exit(0);
}

createInterface({ input: process.stdin })
  .on('line', (line) => {
    const m = JSON.parse(line) as { type: string };
    if (m.type === 'connect') void connectAll(m as ConnectCommand);
    else if (m.type === 'stats') send({ type: 'stats', bytes, open });
    else if (m.type === 'close') closeAll();
  })
  .on('close', closeAll);
send({ type: 'ready' });
