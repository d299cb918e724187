import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { IncomingMessage } from 'node:http';
import pino from 'pino';
import { ApiGatewayManagementApiClient, DeleteConnectionCommand, GetConnectionCommand, PostToConnectionCommand } from '@aws-sdk/client-apigatewaymanagementapi';
import { parseConfig } from '@turnpike/config';
import { CredentialStore, Edge } from '@turnpike/edge';
import { RedisKeys, connectRedis } from '@turnpike/redis';
import { SHARED_REDIS_URL, deletePrefix, startUpstream, testPrefix, type Upstream } from '@turnpike/testing';
import { rawRequest } from '../fixtures.js';
import { keyInPlan, openStore } from '../traffic/trafficFixtures.js';
import { eventually } from '../../../worker/test/helpers.js';
import { signedRequest } from './signing.js';
import { TestClient } from './wsClient.js';

// Two edge nodes (in this process, sharing one Redis prefix: one cluster), real ws clients, a real
// upstream for the HTTP integrations, and the unmodified AWS SDK for the management API.
interface Seen {
  path: string;
  headers: IncomingMessage['headers'];
  body: string;
}

const config = (up: string, extra = '') => `
gateway:
  websocket: { maxBufferedBytes: 65536, slowConsumerPolicy: ${extra || 'disconnect'}, heartbeatMs: 200, nodeTimeoutMs: 1500 }
apis:
  - name: chat
    type: websocket
    basePath: /chat
    stages: { prod: {} }
    websocket:
      maxMessageBytes: 65536
      routes:
        $connect: { integration: { type: http_proxy, uri: "${up}/connect" }, topics: [lobby] }
        $disconnect: { integration: { type: http_proxy, uri: "${up}/disconnect" } }
        $default: { integration: { type: http_proxy, uri: "${up}/default" }, routeResponse: true }
        whoami: { integration: { type: http_proxy, uri: "${up}/whoami", requestHeaders: { X-Stage: "\${context.stage}", x-source: "\${context.identity.sourceIp}", x-tenant: "\${context.authorizer.team}" } }, routeResponse: true }
        huge: { integration: { type: http_proxy, uri: "${up}/huge" }, routeResponse: true }
        quiet: { integration: { type: mock, body: "never sent" } }
        nested: { integration: { type: mock, body: "nested route" }, routeResponse: true }
  - name: strict
    type: websocket
    basePath: /strict
    websocket:
      routeSelectionExpression: $request.body.meta.kind
      idleTimeoutMs: 1000
      routes:
        ping: { integration: { type: mock, body: pong }, routeResponse: true }
  - name: closed
    type: websocket
    basePath: /closed
    websocket:
      routes:
        $connect: { integration: { type: mock, statusCode: 403, body: '{"message":"no entry"}' } }
  - name: keyed
    type: websocket
    basePath: /keyed
    websocket:
      routes:
        $connect: { integration: { type: mock }, apiKeyRequired: true }
        ping: { integration: { type: mock, body: pong }, routeResponse: true }
  - name: short
    type: websocket
    basePath: /short
    websocket:
      maxConnectionDurationMs: 1000
      routes:
        $default: { integration: { type: mock, body: ok }, routeResponse: true }
  - name: rest
    basePath: /rest
    routes:
      GET /x: { integration: { type: mock, body: '{"rest":true}' } }
`;

describe('WebSocket APIs across two edge nodes', () => {
  let upstream: Upstream;
  const seen: Seen[] = [];
  let prefix: string;
  let a: Edge;
  let b: Edge;
  let sdkA: ApiGatewayManagementApiClient;
  let sdkB: ApiGatewayManagementApiClient;
  let creds: { accessKeyId: string; secretAccessKey: string };
  const clients: TestClient[] = [];

  const startNode = (yaml: string) =>
    new Edge({ config: parseConfig(yaml, 'ws.yaml'), port: 0, host: '127.0.0.1', managementPort: 0, redisUrl: SHARED_REDIS_URL, keyPrefix: prefix, logger: pino({ level: 'silent' }) }).start();
  const connect = async (edge: Edge, path = '/chat/prod', headers?: Record<string, string>) => {
    const c = await TestClient.connect(`ws://127.0.0.1:${edge.port}${path}`, { headers });
    clients.push(c);
    return c;
  };
  /** The connection id, as the backend sees it (the whoami route answers with its request headers). */
  const idOf = async (c: TestClient) => {
    c.send(JSON.stringify({ action: 'whoami' }));
    return (await c.json()).connectionId as string;
  };
  const sdk = (edge: Edge, secret = creds.secretAccessKey, systemClockOffset = 0) =>
    new ApiGatewayManagementApiClient({ endpoint: `http://127.0.0.1:${edge.port}/chat/prod`, region: 'us-east-1', credentials: { accessKeyId: creds.accessKeyId, secretAccessKey: secret }, systemClockOffset, maxAttempts: 1 });

  beforeAll(async () => {
    upstream = await startUpstream((req, res) => {
      let body = '';
      req.on('data', (d: Buffer) => (body += d.toString()));
      req.on('end', () => {
        seen.push({ path: req.url!, headers: req.headers, body });
        res.setHeader('content-type', 'application/json');
        if (req.url === '/whoami') res.end(JSON.stringify({ connectionId: req.headers['x-amzn-connection-id'] }));
        else if (req.url === '/default') res.end(JSON.stringify({ default: body }));
        else if (req.url === '/huge') res.end('x'.repeat(65537));
        else res.end('');
      });
    });
    prefix = testPrefix('ws');
    a = await startNode(config(upstream.url));
    b = await startNode(config(upstream.url));
    const redis = connectRedis({ url: SHARED_REDIS_URL });
    creds = await new CredentialStore(redis, new RedisKeys(prefix)).create('test');
    redis.disconnect();
    sdkA = sdk(a);
    sdkB = sdk(b);
  });
  afterAll(async () => {
    for (const c of clients) c.ws.terminate();
    await a?.stop(1000);
    await b?.stop(1000);
    await upstream?.close();
    await deletePrefix(SHARED_REDIS_URL, prefix);
  });

  it('closes the connection with 1003 on a binary frame from the client, as API Gateway does', async () => {
    const c = await connect(a, '/strict');
    c.send(Buffer.from([1, 2, 3]), true);
    expect(await c.closed).toMatchObject({ code: 1003 });
  });

  it('routes by the selection expression, falls back to $default, and answers an error frame without one', async () => {
    const c = await connect(a);
    c.send(JSON.stringify({ action: 'nested' }));
    expect(await c.next()).toBe('nested route');
    // Bad JSON, a JSON array and an unknown action all go to $default.
    c.send('{not json');
    expect(await c.json()).toEqual({ default: '{not json' });
    c.send(JSON.stringify({ action: 'nope' }));
    expect(await c.json()).toEqual({ default: '{"action":"nope"}' });
    c.send('[1,2]');
    expect(await c.json()).toEqual({ default: '[1,2]' });
    // A route without routeResponse answers nothing: the next frame is the one after it.
    c.send(JSON.stringify({ action: 'quiet' }));
    c.send(JSON.stringify({ action: 'nested' }));
    expect(await c.next()).toBe('nested route');

    const s = await connect(a, '/strict');
    s.send(JSON.stringify({ meta: { kind: 'ping' } }));
    expect(await s.next()).toBe('pong');
    s.send('{bad');
    const err = await s.json();
    expect(err.message).toBe('Forbidden');
    expect(err.connectionId).toEqual(expect.any(String));
    expect(err.requestId).toEqual(expect.any(String));
  });

  it('passes connect, message and disconnect to an HTTP integration with the connection and route', async () => {
    const c = await connect(a);
    const id = await idOf(c);
    expect(id).toMatch(/^[A-Za-z0-9+/]{22}==$/);
    const connectCall = seen.find((s) => s.path === '/connect' && s.headers['x-amzn-connection-id'] === id)!;
    expect(connectCall.headers['x-amzn-event-type']).toBe('CONNECT');
    expect(connectCall.headers['x-amzn-route-key']).toBe('$connect');
    await c.close();
    const deadline = Date.now() + 5_000;
    while (!seen.some((s) => s.path === '/disconnect' && s.headers['x-amzn-connection-id'] === id) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    const d = seen.find((s) => s.path === '/disconnect' && s.headers['x-amzn-connection-id'] === id)!;
    expect(d.headers['x-amzn-event-type']).toBe('DISCONNECT');
  });

  it('expands an HTTP integration\'s requestHeaders as REST routes do, and bounds its answer by maxMessageBytes', async () => {
    const c = await connect(a);
    const id = await idOf(c);
    const call = seen.find((s) => s.path === '/whoami' && s.headers['x-amzn-connection-id'] === id)!;
    expect(call.headers['x-stage']).toBe('prod');
    expect(call.headers['x-source']).toBe('127.0.0.1');
    // No authorizer on this API: a header whose value is absent is not sent (never the literal template).
    expect(call.headers['x-tenant']).toBeUndefined();
    c.send(JSON.stringify({ action: 'huge' }));
    expect(await c.json()).toMatchObject({ message: 'Internal server error', connectionId: id });
  });

  it('refuses the upgrade with the $connect integration status, and leaves REST APIs to the HTTP pipeline', async () => {
    const refused = await TestClient.connect(`ws://127.0.0.1:${a.port}/closed`).catch((e: { status: number; body: string }) => e);
    expect((refused as { status: number }).status).toBe(403);
    expect((refused as { body: string }).body).toBe('{"message":"no entry"}');
    const rest = await TestClient.connect(`ws://127.0.0.1:${a.port}/rest/x`).catch((e: { status: number; body: string }) => e);
    expect((rest as { status: number }).status).toBe(200);
    expect((rest as { body: string }).body).toBe('{"rest":true}');
    const unknownStage = await TestClient.connect(`ws://127.0.0.1:${a.port}/chat/nostage`).catch((e: { status: number }) => e);
    expect((unknownStage as { status: number }).status).toBe(404);
  });

  it('requires an API key in a usage plan of the stage on $connect when apiKeyRequired', async () => {
    const { store, redis } = openStore(prefix);
    try {
      const key = await keyInPlan(store, ['keyed/$default']);
      const other = await keyInPlan(store, ['chat/prod']);
      const status = (headers?: Record<string, string>) => TestClient.connect(`ws://127.0.0.1:${a.port}/keyed`, { headers }).then(
        (c) => (clients.push(c), 101),
        (e: { status: number }) => e.status,
      );
      expect(await status()).toBe(403);
      expect(await status({ 'x-api-key': 'not-a-key-at-all-0123456789' })).toBe(403);
      expect(await status({ 'x-api-key': other.value })).toBe(403);
      expect(await status({ 'x-api-key': key.value })).toBe(101);
    } finally {
      redis.disconnect();
    }
  });

  it('serves @connections POST, GET and DELETE for a connection held by the other node', async () => {
    const c = await connect(b, '/chat/prod', { 'user-agent': 'turnpike-test/1' });
    const id = await idOf(c);
    // In order, through node A, which holds nothing of it.
    for (let i = 0; i < 20; i++) await sdkA.send(new PostToConnectionCommand({ ConnectionId: id, Data: `m${i}` }));
    for (let i = 0; i < 20; i++) expect(await c.next()).toBe(`m${i}`);
    // The SDK posts bytes as application/octet-stream; valid UTF-8 still arrives as a text frame, as on AWS,
    // so a browser's JSON.parse(e.data) gets a string.
    await sdkA.send(new PostToConnectionCommand({ ConnectionId: id, Data: new TextEncoder().encode('{"hello":"wörld"}') }));
    const text = await c.nextFrame();
    expect(text.isBinary).toBe(false);
    expect(JSON.parse(text.data.toString())).toEqual({ hello: 'wörld' });
    await sdkA.send(new PostToConnectionCommand({ ConnectionId: id, Data: Buffer.from([0, 1, 2, 255]) }));
    const bin = await c.nextFrame();
    expect(bin.isBinary).toBe(true);
    expect([...bin.data]).toEqual([0, 1, 2, 255]);

    const info = await sdkA.send(new GetConnectionCommand({ ConnectionId: id }));
    expect(info.Identity).toEqual({ SourceIp: '127.0.0.1', UserAgent: 'turnpike-test/1' });
    expect(info.ConnectedAt).toBeInstanceOf(Date);
    expect(Math.abs(info.ConnectedAt!.getTime() - Date.now())).toBeLessThan(10_000);
    expect(info.LastActiveAt!.getTime()).toBeGreaterThanOrEqual(info.ConnectedAt!.getTime());
    const local = await sdkB.send(new GetConnectionCommand({ ConnectionId: id }));
    expect(local.ConnectedAt!.getTime()).toBe(info.ConnectedAt!.getTime());

    await sdkA.send(new DeleteConnectionCommand({ ConnectionId: id }));
    expect((await c.closed).code).toBe(1000);
    // 410 from both nodes once it is gone (the owning node unregisters it as it closes).
    await expect(sdkB.send(new PostToConnectionCommand({ ConnectionId: id, Data: 'late' }))).rejects.toMatchObject({ name: 'GoneException', $metadata: { httpStatusCode: 410 } });
    const deadline = Date.now() + 3_000;
    let lastErr: unknown;
    while (Date.now() < deadline) {
      lastErr = await sdkA.send(new GetConnectionCommand({ ConnectionId: id })).then(() => null, (e: unknown) => e);
      if (lastErr) break;
      await new Promise((r) => setTimeout(r, 20));
    }
    expect(lastErr).toMatchObject({ name: 'GoneException' });
    await expect(sdkA.send(new PostToConnectionCommand({ ConnectionId: 'AAAAAAAAAAAAAAAAAAAAAA==', Data: 'x' }))).rejects.toMatchObject({ name: 'GoneException' });
  });

  it('refuses a bad or stale signature with 403 ForbiddenException', async () => {
    const c = await connect(a);
    const id = await idOf(c);
    await expect(sdk(a, 'wrong-secret').send(new PostToConnectionCommand({ ConnectionId: id, Data: 'x' }))).rejects.toMatchObject({ name: 'ForbiddenException', $metadata: { httpStatusCode: 403 } });
    await expect(sdk(a, creds.secretAccessKey, -20 * 60_000).send(new PostToConnectionCommand({ ConnectionId: id, Data: 'x' }))).rejects.toMatchObject({
      name: 'ForbiddenException',
      message: expect.stringMatching(/Signature expired/),
    });
    const unsigned = await rawRequest(a.port, { method: 'POST', path: `/chat/prod/@connections/${encodeURIComponent(id)}`, body: 'x' });
    expect(unsigned.status).toBe(403);
    expect(unsigned.headers['x-amzn-errortype']).toBe('ForbiddenException');
    await sdkA.send(new PostToConnectionCommand({ ConnectionId: id, Data: 'signed' }));
    expect(await c.next()).toBe('signed');
  });

  it('serves @connections at /{stage} too, the endpoint a handler builds from its event, for an API below a base path', async () => {
    // The API is at /chat/prod; a handler's `https://${domainName}/${stage}` has no base path (AWS's
    // endpoint has none) and used to answer 404.
    const c = await connect(a);
    const id = await idOf(c);
    const fromEvent = new ApiGatewayManagementApiClient({ endpoint: `http://127.0.0.1:${b.port}/prod`, region: 'us-east-1', credentials: creds, maxAttempts: 1 });
    await fromEvent.send(new PostToConnectionCommand({ ConnectionId: id, Data: 'via the event endpoint' }));
    expect(await c.next()).toBe('via the event endpoint');
    expect((await signedRequest(b.port, 'POST', `/prod/@connections/${encodeURIComponent(id)}/topics/news`, '', creds)).status).toBe(204);
    // Only the management paths: anything else under /prod is still no API.
    expect((await signedRequest(b.port, 'POST', '/prod/elsewhere', 'x', creds)).status).toBe(404);
  });

  it('answers 413 over maxMessageBytes, 405 for another method and 404 for other paths, all signed', async () => {
    const c = await connect(a);
    const id = await idOf(c);
    await expect(sdkA.send(new PostToConnectionCommand({ ConnectionId: id, Data: 'x'.repeat(65537) }))).rejects.toMatchObject({ name: 'PayloadTooLargeException', $metadata: { httpStatusCode: 413 } });
    const put = await signedRequest(a.port, 'PUT', `/chat/prod/@connections/${encodeURIComponent(id)}`, 'x', creds);
    expect(put.status).toBe(405);
    expect(put.headers.allow).toBe('GET, POST, DELETE');
    expect((await signedRequest(a.port, 'POST', '/chat/prod/@elsewhere/x', 'x', creds)).status).toBe(404);
    // Nothing of it reached the client.
    await sdkA.send(new PostToConnectionCommand({ ConnectionId: id, Data: 'only this' }));
    expect(await c.next()).toBe('only this');
  });

  it('publishes a topic to subscribers on both nodes in one call', async () => {
    // Subscribed to "lobby" by the $connect route; to "news" through the management API.
    const onA = await connect(a);
    const onB = await connect(b);
    const other = await connect(b);
    const idA = await idOf(onA);
    const idB = await idOf(onB);
    await idOf(other);
    const signed = (method: 'POST' | 'DELETE', path: string, body = '') => signedRequest(a.port, method, `/chat/prod${path}`, body, creds);
    expect((await signed('POST', `/@connections/${encodeURIComponent(idA)}/topics/news`)).status).toBe(204);
    expect((await signed('POST', `/@connections/${encodeURIComponent(idB)}/topics/news`)).status).toBe(204);
    // The subscription of idB travels to node B; a publish after it is acknowledged by B's GET is ordered after it.
    await sdkB.send(new GetConnectionCommand({ ConnectionId: idB }));
    expect((await signed('POST', '/@topics/news', 'headline')).status).toBe(202);
    expect(await onA.next()).toBe('headline');
    expect(await onB.next()).toBe('headline');
    expect((await signed('POST', '/@topics/lobby', 'everyone')).status).toBe(202);
    expect(await onA.next()).toBe('everyone');
    expect(await onB.next()).toBe('everyone');
    expect(await other.next()).toBe('everyone');
    expect(other.messages.map((m) => m.data.toString())).not.toContain('headline');
    expect((await signed('POST', '/@topics/bad%20topic', 'x')).status).toBe(400);
  });

  it('reports connects, messages and open connections as metrics', async () => {
    const metric = async (name: string, route: string) => {
      const text = (await rawRequest(a.managementPort, { path: '/metrics' })).body.toString();
      const line = text.split('\n').find((l) => l.startsWith(`${name}{api="chat",stage="prod",route="${route}"`));
      return line ? Number(line.slice(line.lastIndexOf(' ') + 1)) : 0;
    };
    const [connects, open, nested] = [await metric('turnpike_websocket_connects_total', '$connect'), await metric('turnpike_websocket_connections', '$connect'), await metric('turnpike_websocket_messages_total', 'nested')];
    const c = await connect(a);
    c.send(JSON.stringify({ action: 'nested' }));
    await c.next();
    expect(await metric('turnpike_websocket_connects_total', '$connect')).toBe(connects + 1);
    expect(await metric('turnpike_websocket_connections', '$connect')).toBe(open + 1);
    expect(await metric('turnpike_websocket_messages_total', 'nested')).toBe(nested + 1);
    await c.close();
    await eventually(async () => ((await metric('turnpike_websocket_connections', '$connect')) === open ? true : undefined), 'the gauge to go down');
  });

  it('closes a message over maxMessageBytes with 1009', async () => {
    const c = await connect(a);
    c.send('x'.repeat(65537));
    expect((await c.closed).code).toBe(1009);
  });

  it('closes an idle connection with 1001 after idleTimeoutMs', async () => {
    const c = await connect(a, '/strict');
    const started = Date.now();
    const closed = await c.closed;
    expect(closed.code).toBe(1001);
    expect(closed.reason).toBe('Idle timeout');
    expect(Date.now() - started).toBeGreaterThanOrEqual(900);
  });

  it('closes a busy connection with 1001 at maxConnectionDurationMs', async () => {
    const c = await connect(a, '/short');
    const started = Date.now();
    const busy = setInterval(() => c.send('still here'), 100);
    try {
      const closed = await c.closed;
      expect(closed).toEqual({ code: 1001, reason: 'Maximum connection duration reached' });
      expect(Date.now() - started).toBeGreaterThanOrEqual(900);
      expect(c.messages.length).toBeGreaterThan(3);
    } finally {
      clearInterval(busy);
    }
  });

  it('disconnects a slow consumer once its buffered bytes pass the limit', async () => {
    const c = await connect(a);
    const id = await idOf(c);
    c.ws.pause();
    // Loopback socket buffers take a few MB before anything stays buffered in uWS. Posted to the owning
    // node, in batches, so the test does not depend on Redis round trips per message.
    const chunk = 'y'.repeat(65536);
    const post = () => sdkA.send(new PostToConnectionCommand({ ConnectionId: id, Data: chunk })).then(
      () => false,
      (e: { name: string }) => e.name === 'GoneException',
    );
    let gone = false;
    for (let i = 0; i < 100 && !gone; i++) gone = (await Promise.all(Array.from({ length: 16 }, post))).some(Boolean);
    expect(gone).toBe(true);
    c.ws.resume();
    expect((await c.closed).code).toBe(1006);
  });

  it('drops messages for a slow consumer under the drop policy and keeps the connection', async () => {
    const dropper = await startNode(config(upstream.url, 'drop'));
    try {
      const c = await connect(dropper);
      const id = await idOf(c);
      c.ws.pause();
      const sdkC = sdk(dropper);
      const chunk = 'z'.repeat(65536);
      let sent = 0;
      for (let i = 0; i < 100 && dropper.websockets!.dropped === 0; i++) {
        sent += 16;
        await Promise.all(Array.from({ length: 16 }, () => sdkC.send(new PostToConnectionCommand({ ConnectionId: id, Data: chunk }))));
      }
      expect(dropper.websockets!.dropped).toBeGreaterThan(0);
      c.ws.resume();
      // Once it has caught up, the connection works as before: a marker posted after that arrives.
      await eventually(async () => {
        await sdkC.send(new PostToConnectionCommand({ ConnectionId: id, Data: 'after' }));
        return c.messages.at(-1)?.data.toString() === 'after' ? true : undefined;
      }, 'a message after the backlog', 10_000);
      const received = c.messages.filter((m) => m.data.length === chunk.length).length;
      expect(received).toBeLessThan(sent);
      expect(received).toBeGreaterThan(0);
      expect(c.ws.readyState).toBe(c.ws.OPEN);
    } finally {
      await dropper.stop(1000);
    }
  });
});
