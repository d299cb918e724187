import { afterAll, assert, beforeAll, describe, expect, it } from 'vitest';
import { existsSync, mkdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import autocannon from 'autocannon';
import { Redis } from 'ioredis';
import WebSocket from 'ws';
import { parseConfig } from '@turnpike/config';
import { chromium, type Browser, type Page } from 'playwright-core';
import type { Edge } from '@turnpike/edge';
import { AdminTokenStore, RedisKeys } from '@turnpike/redis';
import { SHARED_REDIS_URL } from '@turnpike/testing';
import { baseConfig, mockApi, startControlPlane, type ControlPlane } from './fixtures.js';

/**
 * An edge makes its WebSocket gateway only when its own config has a WebSocket API (a limit of the
 * control-plane edge, docs/console.md); the control plane's own chat API is then served by it.
 */
const CHAT = parseConfig(`
apis:
  - name: chat
    type: websocket
    basePath: /chat
    stages: { live: {} }
    websocket:
      routes:
        $connect: { integration: { type: mock }, topics: [lobby] }
        $default: { integration: { type: mock, body: ok } }
`, 'chat.yaml').apis;

/**
 * The console in a real browser (Debian's Chromium driven by playwright-core, as the CORS test does),
 * against a real control service, a real in-process edge following it and the shared Redis.
 * CONSOLE_SCREENSHOTS=DIR also saves each page at 1366×768 there (docs/console/ holds the committed ones).
 */
const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const available = existsSync(CHROMIUM);
if (!available) console.warn(`console.browser.test: skipped: no Chromium at ${CHROMIUM} (apt-get install chromium, or set CHROMIUM_PATH)`);
const BUILT = fileURLToPath(new URL('../dist/console/index.html', import.meta.url));
const SHOTS = process.env.CONSOLE_SCREENSHOTS;

// Skipped only where Chromium cannot be had (the reason is printed above); .ci/run installs it, so CI runs it.
describe.skipIf(!available)('the console in a real browser', () => {
  let cp: ControlPlane;
  let edge: Edge;
  let browser: Browser;
  let page: Page;
  let admin: Redis;
  let token: string;
  let origin: string;

  const gateway = () => `http://127.0.0.1:${edge.port}`;
  const which = async (headers: Record<string, string> = {}) => {
    const r = await fetch(`${gateway()}/prod/which`, { headers });
    return `${r.status} ${await r.text()}`;
  };
  /** Polls the edge until it answers `want` (deploys cross Redis pub/sub: no event to await in this process). */
  async function edgeServes(want: string, timeoutMs = 5_000): Promise<void> {
    const until = Date.now() + timeoutMs;
    let got = await which();
    while (got !== want && Date.now() < until) got = await which();
    expect(got).toBe(want);
  }
  const shot = async (name: string) => {
    if (SHOTS) await page.screenshot({ path: `${SHOTS}/${name}.png` });
  };

  beforeAll(async () => {
    if (!existsSync(BUILT)) throw new Error(`the console is not built (${BUILT}): run npm run build`);
    if (SHOTS) mkdirSync(SHOTS, { recursive: true });
    cp = await startControlPlane('console');
    origin = cp.url;
    admin = new Redis(SHARED_REDIS_URL);
    token = (await new AdminTokenStore(admin, new RedisKeys(cp.prefix)).create({ name: 'console-test', scopes: ['*'], by: 'test' })).token;
    edge = await cp.edge({ heartbeatMs: 500, config: { ...baseConfig(), apis: CHAT } });
    browser = await chromium.launch({
      executablePath: CHROMIUM,
      headless: true,
      args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
    });
    page = await browser.newPage({ viewport: { width: 1366, height: 768 } });
    // Shorter than the test's own timeout, so a missing element fails naming its locator.
    page.setDefaultTimeout(8_000);
  });
  afterAll(async () => {
    await browser?.close();
    await cp?.close();
    admin?.disconnect();
  });

  it('refuses the admin API without a token, and serves only the sign-in page, with a strict CSP and cache headers', async () => {
    for (const path of ['/v1/apis', '/v1/metrics', '/v1/nodes', '/v1/whoami', '/console/../v1/keys']) {
      const r = await fetch(`${origin}${path}`);
      expect(r.status, path).toBe(401);
    }
    const index = await fetch(`${origin}/console/`);
    expect(index.status).toBe(200);
    expect(index.headers.get('cache-control')).toBe('no-cache');
    const csp = index.headers.get('content-security-policy')!;
    expect(csp).toContain("default-src 'none'");
    expect(csp).toContain("script-src 'self'");
    expect(csp).not.toContain('unsafe-inline');
    const html = await index.text();
    const js = /\/console\/assets\/(console-[A-Z0-9]+\.js)/.exec(html)?.[1];
    assert.isDefined(js, 'index.html links the console bundle');
    const asset = await fetch(`${origin}/console/assets/${js}`);
    expect(asset.status).toBe(200);
    expect(asset.headers.get('cache-control')).toBe('public, max-age=31536000, immutable');
    expect((await fetch(`${origin}/console/assets/nope.js`)).status).toBe(404);

    const violations: string[] = [];
    page.on('console', (m) => m.type() === 'error' && violations.push(m.text()));
    await page.goto(`${origin}/`);
    await page.getByLabel('Admin token').fill('tpa_not-a-real-token');
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.getByRole('alert').filter({ hasText: 'unknown or revoked' }).waitFor();
    expect(await page.evaluate('sessionStorage.length')).toBe(0);
    await shot('signin');
    // The only console errors are the refused sign-in's 401: no CSP violation.
    expect(violations.filter((v) => !v.includes('401'))).toEqual([]);
  });

  it('signs in with an admin token and shows live numbers that move while a load runs', async () => {
    await cp.client.call('PUT', '/v1/apis/shop', { body: { definition: mockApi('one') } });
    await cp.client.call('POST', '/v1/apis/shop/deployments', { body: { stage: 'prod' } });
    await edgeServes('200 one');

    await page.getByLabel('Admin token').fill(token);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.getByRole('heading', { name: 'Overview' }).waitFor();
    await page.getByText('1 edge(s) reporting').waitFor();

    const load = autocannon({ url: `${gateway()}/prod/which`, connections: 4, duration: 6 });
    const rps = page.getByTestId('stat-rps');
    const seen = new Set<string>();
    await expect
      .poll(async () => {
        const v = (await rps.textContent())!;
        if (Number(v.replace(/,/g, '')) > 0) seen.add(v);
        return seen.size;
      }, { timeout: 6_000, interval: 300 })
      .toBeGreaterThanOrEqual(2);
    expect(await page.getByTestId('stat-p50').textContent()).toMatch(/ms$/);
    await shot('overview');
    await load;
  });

  it('imports an OpenAPI document with an error and shows the line, then imports it fixed', async () => {
    await page.getByRole('link', { name: 'APIs' }).click();
    const doc = (type: string) => `openapi: 3.0.1
info: { title: pets, version: "1" }
paths:
  /pets:
    get:
      x-amazon-apigateway-integration:
        type: ${type}
        httpMethod: GET
        uri: http://127.0.0.1:9/pets
`;
    await page.getByLabel('API name').fill('pets');
    await page.getByLabel('File', { exact: true }).setInputFiles({ name: 'pets.yaml', mimeType: 'application/yaml', buffer: Buffer.from(doc('banana')) });
    await page.getByRole('button', { name: 'Import' }).click();
    const issue = page.getByTestId('import-issue').first();
    await issue.waitFor();
    expect(await issue.textContent()).toMatch(/^line 7: /);
    await shot('apis-import-error');

    await page.getByLabel('File', { exact: true }).setInputFiles({ name: 'pets.yaml', mimeType: 'application/yaml', buffer: Buffer.from(doc('http_proxy')) });
    await page.getByRole('button', { name: 'Import' }).click();
    await page.getByText('Imported pets.yaml as pets').waitFor();
    await page.getByRole('button', { name: 'pets', exact: true }).click();
    await page.getByRole('cell', { name: 'http_proxy http://127.0.0.1:9/pets' }).waitFor();
    await shot('apis');
  });

  it('deploys, runs a canary, promotes it and rolls back from the page, and the edge follows each step', async () => {
    await page.goto(`${origin}/console/#/stages/shop`);
    await page.getByRole('heading', { name: 'Stages and deployments' }).waitFor();
    await cp.client.call('PUT', '/v1/apis/shop', { body: { definition: mockApi('two') } });
    await page.getByLabel('Description').fill('answer two');
    await page.getByRole('button', { name: 'Deploy', exact: true }).click();
    await page.getByText(/^Deployed [0-9a-z]{8} to prod/).waitFor();
    await edgeServes('200 two');

    await page.getByRole('button', { name: 'Manage' }).click();
    await page.getByLabel('Percent').fill('100');
    await page.getByRole('button', { name: 'Create canary' }).click();
    await page.getByText(/^Canary created: 100 %/).waitFor();
    await edgeServes('200 one');
    // Canary traffic shows on its side of the comparison once the collector has scraped it.
    for (let i = 0; i < 20; i++) await which();
    await expect.poll(() => page.getByTestId('canary-errors').textContent(), { timeout: 6_000 }).toBe('0.0 %');
    await shot('stages');

    await page.getByRole('button', { name: 'Promote canary' }).click();
    await page.getByText('Canary promoted').waitFor();
    await edgeServes('200 one');
    await page.getByRole('button', { name: 'Roll back to the previous deployment' }).click();
    await page.getByText(/^Rolled back: prod serves/).waitFor();
    await edgeServes('200 two');
    await page.getByRole('cell', { name: 'rollback' }).first().waitFor();
  });

  it('creates a key, shows its value once, and charts its usage', async () => {
    await cp.client.call('PUT', '/v1/apis/shop', { body: { definition: { routes: { 'GET /which': { apiKeyRequired: true, integration: { type: 'mock', body: 'keyed' } } } } } });
    await cp.client.call('POST', '/v1/apis/shop/deployments', { body: { stage: 'prod' } });
    await page.getByRole('link', { name: 'Keys, plans and usage' }).click();
    await page.getByLabel('Key name').fill('alice');
    await page.getByRole('button', { name: 'Create key' }).click();
    const value = (await page.getByTestId('key-value').textContent())!;
    expect(value.length).toBeGreaterThan(20);
    await page.getByLabel('Plan name').fill('gold');
    await page.getByLabel('API stages').fill('shop/prod');
    await page.getByLabel('Attach key').selectOption({ label: 'alice' });
    await page.getByRole('button', { name: 'Create plan' }).click();
    await page.getByText('Plan gold created and the key attached').waitFor();
    await page.getByRole('button', { name: 'I have copied it' }).click();
    expect(await page.getByTestId('key-value').count()).toBe(0);

    const until = Date.now() + 5_000;
    while ((await which({ 'x-api-key': value })) !== '200 keyed' && Date.now() < until);
    for (let i = 0; i < 4; i++) expect(await which({ 'x-api-key': value })).toBe('200 keyed');
    await page.getByTestId('key-alice').getByRole('button', { name: 'Usage' }).click();
    await expect.poll(async () => Number(await page.getByTestId('usage-total').textContent()), { timeout: 8_000 }).toBeGreaterThanOrEqual(5);
    await shot('keys');
  });

  it('lists the nodes, sends to a WebSocket connection and publishes to its topic, and ends the session when the token is revoked', async () => {
    await page.getByRole('link', { name: 'Nodes' }).click();
    await page.getByTestId('node-edge').waitFor();
    expect(Number(await page.getByTestId('node-revision').first().textContent())).toBeGreaterThan(0);
    await shot('nodes');
    await page.getByRole('link', { name: 'WebSocket' }).click();
    await page.getByText('No WebSocket connection is open.').waitFor();

    const chat = { type: 'websocket', basePath: '/chat', websocket: { routes: { $connect: { integration: { type: 'mock' }, topics: ['lobby'] }, $default: { integration: { type: 'mock', body: 'ok' } } } } };
    await cp.client.call('PUT', '/v1/apis/chat', { body: { definition: chat } });
    await cp.client.call('POST', '/v1/apis/chat/deployments', { body: { stage: 'live' } });
    const until = Date.now() + 5_000;
    while ((await fetch(`http://127.0.0.1:${edge.port}/chat/live`)).status === 404 && Date.now() < until);
    const client = new WebSocket(`ws://127.0.0.1:${edge.port}/chat/live`);
    const received: string[] = [];
    client.on('message', (m) => received.push(String(m)));
    await new Promise((resolve, reject) => client.once('open', resolve).once('error', reject));
    const row = page.getByRole('row', { name: /chat\/live/ }).last();
    await row.waitFor();
    const id = (await row.locator('code').first().textContent())!;
    await page.getByLabel('Connection id').fill(id);
    await page.getByLabel('Message', { exact: true }).fill('hello from the console');
    await page.getByRole('button', { name: 'Send' }).click();
    await page.getByText(`Sent to ${id}.`).waitFor();
    await expect.poll(() => received).toContain('hello from the console');
    await page.getByLabel('API stage').fill('chat/live');
    await page.getByLabel('Topic', { exact: true }).fill('lobby');
    await page.getByLabel('Topic message').fill('news for the lobby');
    await page.getByRole('button', { name: 'Publish' }).click();
    await page.getByText(/^Published to lobby/).waitFor();
    await expect.poll(() => received).toContain('news for the lobby');
    await shot('websocket');
    client.close();

    const tokens = new AdminTokenStore(admin, new RedisKeys(cp.prefix));
    const mine = (await tokens.list()).find((t) => t.name === 'console-test')!;
    await tokens.revoke(mine.id);
    await page.getByRole('link', { name: 'Nodes' }).click();
    await page.getByText('The session ended').waitFor();
    expect(await page.evaluate('sessionStorage.length')).toBe(0);
  });
});
