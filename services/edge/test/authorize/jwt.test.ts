import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { exportJWK, exportSPKI, generateKeyPair, SignJWT, type JWK, type JWTPayload } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Edge } from '@turnpike/edge';
import { echoHandler, freePort, startUpstream, type Upstream } from '@turnpike/testing';
import { json, rawRequest, startEdge } from '../fixtures.js';

type Key = Awaited<ReturnType<typeof generateKeyPair>>;

let upstream: Upstream;
let jwksServer: Server;
let jwksUrl: string;
let jwksFetches = 0;
let published: JWK[] = [];
let edge: Edge;
let k1: Key;
let k2: Key;
let issuer: string;

async function publicJwk(key: Key, kid: string): Promise<JWK> {
  return { ...(await exportJWK(key.publicKey)), kid, alg: 'RS256', use: 'sig' };
}

function sign(claims: JWTPayload, opts: { key?: Key; kid?: string; iss?: string; aud?: string; exp?: number } = {}): Promise<string> {
  const now = Math.floor(Date.now() / 1000);
  return new SignJWT({ sub: 'user-1', tenant: 'acme', ...claims })
    .setProtectedHeader({ alg: 'RS256', kid: opts.kid ?? 'k1' })
    .setIssuer(opts.iss ?? issuer)
    .setAudience(opts.aud ?? 'orders-api')
    .setIssuedAt(now)
    .setExpirationTime(opts.exp ?? now + 600)
    .sign((opts.key ?? k1).privateKey);
}

const b64 = (o: unknown) => Buffer.from(JSON.stringify(o)).toString('base64url');

function get(path: string, token?: string) {
  return rawRequest(edge.port, { path, headers: token === undefined ? {} : { authorization: token } });
}

beforeAll(async () => {
  upstream = await startUpstream(echoHandler);
  [k1, k2] = await Promise.all([generateKeyPair('RS256', { extractable: true }), generateKeyPair('RS256', { extractable: true })]);
  published = [await publicJwk(k1, 'k1')];
  jwksServer = createServer((req, res) => {
    jwksFetches++;
    res.setHeader('content-type', 'application/json');
    res.end(JSON.stringify({ keys: published }));
  });
  await new Promise<void>((r) => jwksServer.listen(0, '127.0.0.1', r));
  issuer = `http://127.0.0.1:${(jwksServer.address() as AddressInfo).port}`;
  const deadPort = await freePort();
  jwksUrl = `${issuer}/keys`;
  edge = await startEdge(`
gateway: { region: eu-west-1, accountId: "123456789012" }
authorizers:
  idp:
    type: jwt
    issuer: ${issuer}
    audiences: [orders-api, other-api]
    jwksUri: ${jwksUrl}
    jwksCooldownSeconds: 1
  unreachable:
    type: jwt
    issuer: ${issuer}
    audiences: [orders-api]
    jwksUri: http://127.0.0.1:${deadPort}/keys
apis:
  - name: orders
    routes:
      GET /orders:
        authorizer: idp
        integration:
          type: http_proxy
          uri: ${upstream.url}/orders
          requestHeaders:
            X-Tenant: "\${context.authorizer.claims.tenant}"
            X-Principal: "\${context.authorizer.principalId}"
            X-Absent: "\${context.authorizer.claims.nope}"
      GET /admin:
        authorizer: idp
        authorizationScopes: [orders:admin, root]
        integration: { type: http_proxy, uri: ${upstream.url}/admin }
      GET /open:
        integration: { type: http_proxy, uri: ${upstream.url}/open }
      GET /unreachable:
        authorizer: unreachable
        integration: { type: http_proxy, uri: ${upstream.url}/open }
`);
});

afterAll(async () => {
  await edge?.stop(0);
  await upstream?.close();
  await new Promise((r) => jwksServer?.close(r));
});

describe('JWT authorizers', () => {
  it('let a valid token through, passing claims on as authorizer context', async () => {
    const r = await get('/orders', `Bearer ${await sign({})}`);
    expect(r.status).toBe(200);
    const seen = json(r);
    expect(seen.headers['x-tenant']).toBe('acme');
    expect(seen.headers['x-principal']).toBe('user-1');
    expect(seen.headers['x-absent']).toBeUndefined(); // a claim the token lacks leaves the header out
    // The token without the Bearer prefix is accepted too, as HTTP APIs do.
    expect((await get('/orders', await sign({}))).status).toBe(200);
  });

  it('leave routes without an authorizer alone', async () => {
    expect((await get('/open')).status).toBe(200);
  });

  it('answer 401 without a token', async () => {
    const r = await get('/orders');
    expect(r.status).toBe(401);
    expect(json(r)).toEqual({ message: 'Unauthorized' });
    expect(r.headers['x-amzn-errortype']).toBe('UnauthorizedException');
    expect((await get('/orders', '')).status).toBe(401);
  });

  it.each([
    ['expired', () => sign({}, { exp: Math.floor(Date.now() / 1000) - 120 })],
    ['not yet valid', () => sign({ nbf: Math.floor(Date.now() / 1000) + 120 })],
    ['from another issuer', () => sign({}, { iss: 'https://evil.example' })],
    ['for another audience', () => sign({}, { aud: 'billing-api' })],
    ['signed by an unknown key under a known kid', () => sign({}, { key: k2, kid: 'k1' })],
    ['with a tampered payload', async () => {
      const [h, , s] = (await sign({})).split('.');
      return `${h}.${b64({ sub: 'admin', tenant: 'acme', iss: issuer, aud: 'orders-api', exp: Math.floor(Date.now() / 1000) + 600 })}.${s}`;
    }],
    ['with alg none', async () => `${b64({ alg: 'none', typ: 'JWT' })}.${b64({ sub: 'admin', iss: issuer, aud: 'orders-api', exp: Math.floor(Date.now() / 1000) + 600 })}.`],
    ['HMAC-signed with the RSA public key (HS/RS confusion)', async () => {
      const pem = await exportSPKI(k1.publicKey);
      return new SignJWT({ sub: 'admin' }).setProtectedHeader({ alg: 'HS256', kid: 'k1' }).setIssuer(issuer).setAudience('orders-api').setExpirationTime('10m').sign(new TextEncoder().encode(pem));
    }],
    ['that is not a JWT', async () => 'not.a.jwt'],
  ])('answer 401 for a token %s', async (_, token) => {
    const r = await get('/orders', `Bearer ${await token()}`);
    expect(r.status).toBe(401);
    expect(json(r)).toEqual({ message: 'Unauthorized' });
  });

  it("answer 500 when the key set cannot be fetched: the gateway's fault, not the caller's", async () => {
    const r = await get('/unreachable', `Bearer ${await sign({})}`);
    expect(r.status).toBe(500);
    // An authorizer that cannot decide is AWS's AUTHORIZER_CONFIGURATION_ERROR (a REST API's body: message null).
    expect(json(r)).toEqual({ message: null });
    expect(r.headers['x-amzn-errortype']).toBe('AuthorizerConfigurationException');
  });

  it('accept tokens within the clock skew', async () => {
    expect((await get('/orders', `Bearer ${await sign({}, { exp: Math.floor(Date.now() / 1000) - 5 })}`)).status).toBe(200);
    expect((await get('/orders', `Bearer ${await sign({ nbf: Math.floor(Date.now() / 1000) + 5 })}`)).status).toBe(200);
  });

  it('need one of the route scopes, from scope or scp, else 403', async () => {
    expect((await get('/admin', `Bearer ${await sign({ scope: 'orders:read orders:admin' })}`)).status).toBe(200);
    expect((await get('/admin', `Bearer ${await sign({ scp: ['root'] })}`)).status).toBe(200);
    const r = await get('/admin', `Bearer ${await sign({ scope: 'orders:read' })}`);
    expect(r.status).toBe(403);
    expect(json(r)).toEqual({ message: 'User is not authorized to access this resource' });
    expect((await get('/admin', `Bearer ${await sign({})}`)).status).toBe(403);
  });

  it('cache the key set, and pick up a rotated key', async () => {
    const before = jwksFetches;
    for (let i = 0; i < 5; i++) expect((await get('/orders', `Bearer ${await sign({})}`)).status).toBe(200);
    expect(jwksFetches).toBe(before);

    const rotated = await sign({}, { key: k2, kid: 'k2' });
    published = [await publicJwk(k1, 'k1'), await publicJwk(k2, 'k2')];
    // An unknown kid refetches the set once the cooldown (1 s here) has passed since the last fetch; no
    // event tells when, so poll with a deadline.
    const deadline = Date.now() + 5000;
    let status = 0;
    while (Date.now() < deadline) {
      status = (await get('/orders', `Bearer ${rotated}`)).status;
      if (status === 200) break;
      expect(status).toBe(401);
      await new Promise((r) => setTimeout(r, 100));
    }
    expect(status).toBe(200);
    expect(jwksFetches - before).toBe(1);
    // Old keys keep working while the issuer still publishes them.
    expect((await get('/orders', `Bearer ${await sign({})}`)).status).toBe(200);
  });
});
