import { once } from 'node:events';
import { createServer, type Server, type Socket } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { startClient, type ClientKind, type ClientProcess } from '../src/websocket/clientProcess.js';

/**
 * Both kinds of idle WebSocket client (websocket benchmarks) against a hand-written server on a real
 * socket: the same upgrade request, the same counts (payload bytes of data frames, across any read
 * boundaries), pings answered, failures reported.
 */
const REQUEST_HEAD = (port: number) =>
  `GET /prod HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n`;
const SWITCHING = 'HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n\r\n';
const PING = Buffer.from([0x89, 0x00]);
const MASKED_EMPTY_PONG = Buffer.from([0x8a, 0x80, 0, 0, 0, 0]);

/** A frame as a server sends it (unmasked). */
function frame(opcode: number, payload: Buffer): Buffer {
  const n = payload.length;
  const length = n < 126 ? Buffer.from([n]) : n < 65536 ? Buffer.from([126, n >> 8, n & 0xff]) : Buffer.concat([Buffer.from([127]), bigEndian64(n)]);
  return Buffer.concat([Buffer.from([0x80 | opcode]), length, payload]);
}

function bigEndian64(n: number): Buffer {
  const b = Buffer.alloc(8);
  b.writeBigUInt64BE(BigInt(n));
  return b;
}

interface Peer {
  socket: Socket;
  request: string;
  /** Bytes the client sent after its request head. */
  received: Buffer[];
}

/** A server that reads each request head and answers with `answer(peer)`. */
async function server(answer: (peer: Peer) => void): Promise<{ server: Server; port: number; peers: Peer[] }> {
  const peers: Peer[] = [];
  const s = createServer((socket) => {
    socket.setNoDelay(true);
    let head = Buffer.alloc(0);
    let peer: Peer | undefined;
    socket.on('data', (d) => {
      if (peer) {
        peer.received.push(d);
        return;
      }
      head = Buffer.concat([head, d]);
      const end = head.indexOf('\r\n\r\n');
      if (end < 0) return;
      peer = { socket, request: head.subarray(0, end + 4).toString('latin1'), received: [] };
      peers.push(peer);
      answer(peer);
    });
    socket.on('error', () => {});
  });
  s.listen(0, '127.0.0.1');
  await once(s, 'listening');
  return { server: s, port: (s.address() as { port: number }).port, peers };
}

interface Connected {
  ok: number;
  failed: number;
  ms: number;
  firstError: string | null;
}
interface Stats {
  bytes: number;
  open: number;
}

const servers: Server[] = [];
const clients: ClientProcess[] = [];
afterEach(async () => {
  await Promise.all(clients.splice(0).map((c) => c.close()));
  await Promise.all(servers.splice(0).map((s) => new Promise((r) => s.close(r))));
});

async function client(kind: ClientKind): Promise<ClientProcess> {
  const c = await startClient(kind);
  clients.push(c);
  return c;
}

const connect = (c: ClientProcess, port: number, count: number, addresses: string[] = ['127.0.0.1'], concurrency = 10) =>
  c.request<Connected>({ type: 'connect', host: '127.0.0.1', port, path: '/prod', count, addresses, concurrency }, 'connected');
const stats = (c: ClientProcess) => c.request<Stats>({ type: 'stats' }, 'stats');

/** Until the peer has received `n` masked empty pongs. */
async function pongs(peer: Peer, n: number): Promise<void> {
  const expected = Buffer.concat(Array.from({ length: n }, () => MASKED_EMPTY_PONG));
  while (Buffer.concat(peer.received).length < expected.length) await once(peer.socket, 'data');
  expect(Buffer.concat(peer.received)).toEqual(expected);
}

describe.each<ClientKind>(['node', 'c'])('idle WebSocket client (%s)', (kind) => {
  it('counts the payload bytes of data frames split anywhere and answers pings with a masked empty pong', async () => {
    const message = Buffer.alloc(64, 'x');
    // The head, a ping and a text frame in one write.
    const s = await server((p) => p.socket.write(Buffer.concat([Buffer.from(SWITCHING), PING, frame(0x1, message)])));
    servers.push(s.server);
    const c = await client(kind);
    expect(await connect(c, s.port, 1)).toMatchObject({ ok: 1, failed: 0, firstError: null });
    const [peer] = s.peers;
    if (!peer) throw new Error('no connection reached the server');
    expect(peer.request).toBe(REQUEST_HEAD(s.port));
    await pongs(peer, 1);
    expect(await stats(c)).toMatchObject({ bytes: 64, open: 1 });

    // A 200-byte binary frame (16-bit length) a byte of header at a time. On loopback a write is in the
    // client's socket before the stats request that follows it, so both are in one batch of its event
    // loop, whichever it handles first: after a second stats answer the piece has been read, alone.
    const binary = frame(0x2, Buffer.alloc(200, 'b'));
    const piece = async (b: Buffer) => {
      peer.socket.write(b);
      await stats(c);
      return (await stats(c)).bytes;
    };
    for (let i = 0; i < 4; i++) expect(await piece(binary.subarray(i, i + 1))).toBe(64);
    expect(await piece(binary.subarray(4, 14))).toBe(74);
    // The rest with a pong from the server (a control frame: not counted) and a ping in the same write.
    expect(await piece(Buffer.concat([binary.subarray(14), frame(0xa, Buffer.alloc(0)), PING]))).toBe(264);
    await pongs(peer, 2);
    // 70,000 bytes (64-bit length) in a continued message: a text frame without FIN, then a continuation.
    const first = frame(0x1, Buffer.alloc(30_000, 'y'));
    first[0] = 0x01;
    expect(await piece(Buffer.concat([first, frame(0x0, Buffer.alloc(70_000, 'z'))]))).toBe(100_264);
    expect(await stats(c)).toMatchObject({ bytes: 100_264, open: 1 });

    // 'close' closes the connection.
    const ended = once(peer.socket, 'close');
    await c.close();
    await ended;
  });

  it('opens connections from its source addresses in turn, at most `concurrency` at a time', async () => {
    const s = await server((p) => p.socket.write(SWITCHING));
    servers.push(s.server);
    const c = await client(kind);
    expect(await connect(c, s.port, 40, ['127.0.0.1', '127.0.0.2'], 7)).toMatchObject({ ok: 40, failed: 0 });
    expect(await connect(c, s.port, 10, ['127.0.0.3'], 7)).toMatchObject({ ok: 10, failed: 0 });
    const sources = s.peers.map((p) => p.socket.remoteAddress);
    expect(sources.filter((a) => a === '127.0.0.1')).toHaveLength(20);
    expect(sources.filter((a) => a === '127.0.0.2')).toHaveLength(20);
    expect(sources.filter((a) => a === '127.0.0.3')).toHaveLength(10);
    expect(await stats(c)).toMatchObject({ bytes: 0, open: 50 });
  });

  it('counts failures and keeps the first error', async () => {
    const refusing = await server((p) => p.socket.end('HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n'));
    const closing = await server((p) => p.socket.end());
    servers.push(refusing.server, closing.server);
    const c = await client(kind);
    expect(await connect(c, refusing.port, 3)).toMatchObject({ ok: 0, failed: 3, firstError: 'HTTP/1.1 404 Not Found' });
    expect(await connect(c, closing.port, 2)).toMatchObject({ ok: 0, failed: 2, firstError: 'connection closed before the handshake response' });
    const closed = await server(() => {});
    await new Promise((r) => closed.server.close(r));
    const refused = await connect(c, closed.port, 2);
    expect(refused).toMatchObject({ ok: 0, failed: 2 });
    expect(refused.firstError).toMatch(/ECONNREFUSED|Connection refused/);
    expect(await stats(c)).toMatchObject({ bytes: 0, open: 0 });
  });
});
