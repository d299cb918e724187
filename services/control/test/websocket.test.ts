import { execFile } from 'node:child_process';
import { afterAll, assert, beforeAll, describe, expect, it } from 'vitest';
import type { Edge } from '@turnpike/edge';
import { TURNPIKE_BIN } from '@turnpike/testing';
import WebSocket from 'ws';
import { loadedRevision, putAndDeploy, startControlPlane, status, type ControlPlane } from './fixtures.js';

/** WebSocket APIs served from the control plane, and their connections managed through the admin API. */
let cp: ControlPlane;
let edge: Edge;
const clients: TestClient[] = [];

/** A `ws` client whose frames a test takes in order. */
class TestClient {
  private readonly frames: string[] = [];
  private wake: (() => void) | null = null;
  readonly closed: Promise<{ code: number }>;
  constructor(readonly ws: WebSocket) {
    ws.on('message', (d: Buffer) => {
      this.frames.push(d.toString());
      this.wake?.();
    });
    this.closed = new Promise((resolve) => ws.on('close', (code) => resolve({ code })));
  }
  static connect(url: string): Promise<TestClient> {
    const ws = new WebSocket(url);
    const c = new TestClient(ws);
    return new Promise((resolve, reject) => {
      ws.once('open', () => resolve(c));
      ws.once('error', reject);
    });
  }
  send(text: string): void {
    this.ws.send(text);
  }
  async next(): Promise<string> {
    while (this.frames.length === 0) await new Promise<void>((r) => (this.wake = r));
    return this.frames.shift()!;
  }
  close(): Promise<{ code: number }> {
    this.ws.close(1000);
    return this.closed;
  }
}

beforeAll(async () => {
  cp = await startControlPlane('ws');
  edge = await cp.edge();
});
afterAll(async () => {
  await Promise.all(clients.map((c) => c.close()));
  await cp?.close();
});

const chat = (pong: string) => ({
  type: 'websocket',
  websocket: { routes: { ping: { integration: { type: 'mock', body: pong }, routeResponse: true } } },
});

async function synced(): Promise<void> {
  const { revision } = await cp.client.call<{ revision: number }>('GET', '/v1/revision');
  await loadedRevision(edge, revision);
}

async function connect(): Promise<TestClient> {
  const c = await TestClient.connect(`ws://127.0.0.1:${edge.port}/prod`);
  clients.push(c);
  return c;
}

async function ping(c: TestClient): Promise<string> {
  c.send(JSON.stringify({ action: 'ping' }));
  return c.next();
}

describe('WebSocket APIs from the control plane', () => {
  let old: TestClient;
  let fresh: TestClient;

  it('serves a WebSocket API deployed through the admin API, on an edge started without it', async () => {
    await putAndDeploy(cp.client, 'chat', chat('pong v1'));
    await synced();
    old = await connect();
    expect(await ping(old)).toBe('pong v1');
  });

  it('routes new connections by the new deployment; open connections keep the routes they connected with', async () => {
    await putAndDeploy(cp.client, 'chat', chat('pong v2'));
    await synced();
    fresh = await connect();
    expect(await ping(fresh)).toBe('pong v2');
    expect(await ping(old)).toBe('pong v1');
  });

  it('lists, shows, sends to and closes connections through the admin API', async () => {
    const { connections } = await cp.client.call<{ connections: { connectionId: string; api: string; stage: string }[] }>('GET', '/v1/connections');
    expect(connections.filter((c) => c.api === 'chat' && c.stage === 'prod')).toHaveLength(2);
    // Which id is whose: a message sent to one arrives on exactly that client.
    const [a, b] = connections.map((c) => c.connectionId);
    assert.isDefined(a);
    assert.isDefined(b);
    // Ids are base64 and may hold a `/`: encoded as a path segment, as the CLI does.
    await cp.client.call('POST', `/v1/connections/${encodeURIComponent(a)}/messages`, { body: { data: 'to a' } });
    const first = await Promise.race([old.next().then((m) => ({ who: old, m })), fresh.next().then((m) => ({ who: fresh, m }))]);
    expect(first.m).toBe('to a');
    const [idOld, idFresh] = first.who === old ? [a, b] : [b, a];
    const oldPath = `/v1/connections/${encodeURIComponent(idOld)}`;
    expect(await cp.client.call('GET', oldPath)).toMatchObject({ connectionId: idOld });

    const reader = await cp.clientWith(['connections:read']);
    expect(await status(reader.call('DELETE', oldPath))).toBe(403);
    expect(await status(cp.client.call('DELETE', oldPath))).toBe('ok');
    expect(await old.closed).toMatchObject({ code: 1000 });
    clients.splice(clients.indexOf(old), 1);
    expect(await status(cp.client.call('DELETE', oldPath))).toBe(410);
    expect(await status(cp.client.call('POST', `${oldPath}/messages`, { body: { data: 'late' } }))).toBe(410);
    // The other connection is untouched.
    expect(await ping(fresh)).toBe('pong v2');
    expect(idFresh).not.toBe(idOld);
  });

  it('does the same from the CLI: turnpike connections list, send, close', async () => {
    const token = (cp.client as unknown as { token: string }).token;
    const cli = (...args: string[]) =>
      new Promise<{ code: number; stdout: string; stderr: string }>((resolve) =>
        execFile(process.execPath, [TURNPIKE_BIN, 'connections', ...args], { env: { ...process.env, TURNPIKE_CONTROL_URL: cp.url, TURNPIKE_TOKEN: token } }, (err, stdout, stderr) => resolve({ code: err ? 1 : 0, stdout, stderr })),
      );
    const list = await cli('list', '--json');
    const { connections } = JSON.parse(list.stdout) as { connections: { connectionId: string }[] };
    expect(connections).toHaveLength(1);
    const [connection] = connections;
    assert.isDefined(connection);
    const id = connection.connectionId;
    expect(await cli('send', id, '--data', 'from the cli')).toMatchObject({ code: 0 });
    expect(await fresh.next()).toBe('from the cli');
    expect(await cli('close', id)).toMatchObject({ code: 0, stdout: `closed ${id}\n` });
    expect(await fresh.closed).toMatchObject({ code: 1000 });
    clients.splice(clients.indexOf(fresh), 1);
    const again = await cli('close', id);
    expect(again.code).toBe(1);
    expect(again.stderr).toContain('(HTTP 410 gone)');
  }, 90_000); // four CLI processes: seconds each on a loaded machine
});
