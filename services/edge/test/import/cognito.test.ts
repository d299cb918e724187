import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { exportJWK, generateKeyPair, SignJWT, type JWTPayload } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Edge } from '@turnpike/edge';
import { json, rawRequest, startEdge } from '../fixtures.js';

/** A Cognito user pool authorizer imported from OpenAPI, against a local pool endpoint serving the JWKS. */
const POOL = 'eu-west-1_Orders1';
const CLIENT = 'app-client-1';
type Key = Awaited<ReturnType<typeof generateKeyPair>>;
let idp: Server;
let endpoint: string;
let key: Key;
let stranger: Key;
let edge: Edge;

function token(claims: JWTPayload, opts: { iss?: string; signer?: Key } = {}): Promise<string> {
  const now = Math.floor(Date.now() / 1000);
  return new SignJWT({ sub: 'user-7', ...claims })
    .setProtectedHeader({ alg: 'RS256', kid: 'pool-key' })
    .setIssuer(opts.iss ?? `${endpoint}/${POOL}`)
    .setIssuedAt(now)
    .setExpirationTime(now + 600)
    .sign((opts.signer ?? key).privateKey);
}
const idToken = (extra: JWTPayload = {}) => token({ token_use: 'id', aud: CLIENT, email: 'a@example.com', ...extra });
const accessToken = (scope: string, extra: JWTPayload = {}) => token({ token_use: 'access', client_id: CLIENT, scope, ...extra });
const get = (path: string, authorization?: string) => rawRequest(edge.port, { path, headers: authorization === undefined ? {} : { authorization } });

beforeAll(async () => {
  [key, stranger] = await Promise.all([generateKeyPair('RS256', { extractable: true }), generateKeyPair('RS256', { extractable: true })]);
  const jwks = JSON.stringify({ keys: [{ ...(await exportJWK(key.publicKey)), kid: 'pool-key', alg: 'RS256', use: 'sig' }] });
  idp = createServer((req, res) => {
    if (req.url !== `/${POOL}/.well-known/jwks.json`) return void res.writeHead(404).end();
    res.setHeader('content-type', 'application/json');
    res.end(jwks);
  });
  await new Promise<void>((r) => idp.listen(0, '127.0.0.1', r));
  endpoint = `http://127.0.0.1:${(idp.address() as AddressInfo).port}`;
  edge = await startEdge(`
gateway: { cognito: { endpoint: "${endpoint}" } }
apis:
  - name: orders
    openapi: ${join(__dirname, '../../../../test/fixtures/openapi/cognito-oas30.yaml')}
`);
});
afterAll(async () => {
  await edge?.stop();
  idp?.close();
});

describe('Cognito user pool authorizer (imported)', () => {
  it('admits an ID token of the pool on a route without scopes', async () => {
    const r = await get('/profile', await idToken());
    expect(r.status).toBe(200);
    expect(json(r)).toEqual({ profile: 'ok' });
  });

  it('refuses what the old importer served to anyone: no token, a foreign signature, another pool', async () => {
    expect((await get('/profile')).status).toBe(401);
    expect((await get('/profile', await token({ token_use: 'id', aud: CLIENT }, { signer: stranger }))).status).toBe(401);
    expect((await get('/profile', await token({ token_use: 'id', aud: CLIENT }, { iss: `${endpoint}/eu-west-1_Other` }))).status).toBe(401);
  });

  it('needs an ID token without scopes and an access token with them, as API Gateway does', async () => {
    expect((await get('/profile', await accessToken('orders/read'))).status).toBe(401);
    expect((await get('/orders', await idToken())).status).toBe(401);
    const ok = await get('/orders', `Bearer ${await accessToken('openid orders/read')}`);
    expect(ok.status).toBe(200);
    expect(json(ok)).toEqual({ orders: [] });
    expect((await get('/orders', await accessToken('orders/write'))).status).toBe(401);
  });
});
