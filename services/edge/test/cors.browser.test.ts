import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { existsSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { chromium, type Browser, type Page } from 'playwright-core';
import type { Edge } from '@turnpike/edge';
import { echoHandler, startUpstream, type Upstream } from '@turnpike/testing';
import { startEdge } from './fixtures.js';

/**
 * CORS as a real browser enforces it: headless Chromium loads a page from one origin and calls the
 * gateway, on another origin, with fetch. Debian's `chromium` package is driven by playwright-core.
 */
const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const available = existsSync(CHROMIUM);
if (!available) console.warn(`cors.browser.test: skipped: no Chromium at ${CHROMIUM} (apt-get install chromium, or set CHROMIUM_PATH)`);

// Skipped only where Chromium cannot be had (a developer machine without it): the reason is printed above,
// and .ci/run installs Debian's chromium so CI always runs these.
describe.skipIf(!available)('CORS in a real browser', () => {
  let upstream: Upstream;
  let edge: Edge;
  let allowedSite: Site;
  let otherSite: Site;
  let browser: Browser;
  let gateway: string;
  let preflightsUpstream = 0;

  beforeAll(async () => {
    upstream = await startUpstream((req, res) => {
      if (req.method === 'OPTIONS') preflightsUpstream++;
      echoHandler(req, res);
    });
    allowedSite = await startSite();
    otherSite = await startSite();
    edge = await startEdge(`
apis:
  - name: web
    cors:
      allowOrigins: ["${allowedSite.origin}"]
      allowMethods: [GET, PUT]
      allowHeaders: [content-type, x-custom]
      exposeHeaders: [x-amzn-requestid]
      maxAge: 60
      allowCredentials: true
    routes:
      GET /items/{id}: { integration: { type: http_proxy, uri: "${upstream.url}/items/{id}" } }
      PUT /items/{id}: { integration: { type: http_proxy, uri: "${upstream.url}/items/{id}" } }
      GET /broken: { integration: { type: http_proxy, uri: "http://127.0.0.1:1/broken" } }
`);
    gateway = `http://127.0.0.1:${edge.port}`;
    browser = await chromium.launch({
      executablePath: CHROMIUM,
      headless: true,
      args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
    });
  });
  afterAll(async () => {
    await browser?.close();
    await edge?.stop(1000);
    await Promise.all([upstream?.close(), allowedSite?.close(), otherSite?.close()]);
  });

  async function pageOn(site: Site): Promise<Page> {
    const page = await browser.newPage();
    await page.goto(`${site.origin}/`);
    return page;
  }

  it('lets a page read a simple cross-origin GET, with an exposed header', async () => {
    const page = await pageOn(allowedSite);
    const result = await page.evaluate(async (url) => {
      const r = await fetch(url);
      return { status: r.status, body: (await r.json()) as Echo, requestId: r.headers.get('x-amzn-requestid') };
    }, `${gateway}/items/1`);
    expect(result.status).toBe(200);
    expect(result.body.url).toBe('/items/1');
    expect(result.requestId).toMatch(/^[0-9a-f-]{36}$/);
    await page.close();
  });

  it('runs a preflighted PUT with a custom header and credentials (cookie), answered by the gateway', async () => {
    const page = await pageOn(allowedSite);
    const result = await page.evaluate(async (url) => {
      // Cookies are per host, not per port: the gateway's origin shares this page's cookie jar.
      (globalThis as unknown as { document: { cookie: string } }).document.cookie = 'session=s3cr3t; path=/';
      const r = await fetch(url, { method: 'PUT', credentials: 'include', headers: { 'content-type': 'application/json', 'x-custom': 'yes' }, body: '{"n":1}' });
      return { status: r.status, body: (await r.json()) as Echo };
    }, `${gateway}/items/2`);
    expect(result.status).toBe(200);
    expect(result.body.method).toBe('PUT');
    expect(result.body.headers['x-custom']).toBe('yes');
    expect(result.body.headers.cookie).toBe('session=s3cr3t');
    expect(Buffer.from(result.body.body, 'base64').toString()).toBe('{"n":1}');
    expect(preflightsUpstream).toBe(0);
    await page.close();
  });

  it('blocks a page from an origin that is not allowed', async () => {
    const page = await pageOn(otherSite);
    const result = await page.evaluate(async (url) => {
      try {
        const r = await fetch(url);
        return { read: true, status: r.status };
      } catch (err) {
        return { read: false, error: String(err) };
      }
    }, `${gateway}/items/3`);
    expect(result).toMatchObject({ read: false });
    expect(result.error).toMatch(/TypeError/);
    const preflighted = await page.evaluate(async (url) => {
      try {
        await fetch(url, { method: 'PUT', headers: { 'x-custom': 'yes' } });
        return 'read';
      } catch {
        return 'blocked';
      }
    }, `${gateway}/items/3`);
    expect(preflighted).toBe('blocked');
    await page.close();
  });

  it('lets a script read a gateway error (502, 403) with its message and request id', async () => {
    const page = await pageOn(allowedSite);
    const result = await page.evaluate(async (base) => {
      const read = async (path: string) => {
        const r = await fetch(base + path, { credentials: 'include' });
        return { status: r.status, body: await r.json(), requestId: r.headers.get('x-amzn-requestid') };
      };
      return [await read('/broken'), await read('/nothing')];
    }, gateway);
    expect(result[0]).toMatchObject({ status: 502, body: { message: 'Internal server error' } });
    expect(result[0]?.requestId).toBeTruthy();
    expect(result[1]).toMatchObject({ status: 403, body: { message: 'Missing Authentication Token' } });
    await page.close();
  });
});

/** What the echo upstream answers. */
interface Echo {
  method: string;
  url: string;
  headers: Record<string, string>;
  body: string;
}

interface Site {
  origin: string;
  close(): Promise<void>;
}

/** A web site on its own origin (its own port) serving an empty page for scripts to run in. */
async function startSite(): Promise<Site> {
  const server: Server = createServer((_req, res) => {
    res.setHeader('content-type', 'text/html');
    res.end('<!doctype html><title>site</title>');
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    origin: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
