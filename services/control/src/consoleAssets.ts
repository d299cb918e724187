import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { IncomingMessage, ServerResponse } from 'node:http';

/**
 * The console's policy: scripts, styles and API calls from this origin only, no inline code, no
 * framing, no plugins. The page keeps the admin token in sessionStorage, so nothing but its own bundle
 * may ever run on it.
 */
export const CONSOLE_CSP = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'";

const TYPES: Record<string, string> = { '.js': 'text/javascript; charset=utf-8', '.css': 'text/css; charset=utf-8', '.html': 'text/html; charset=utf-8', '.map': 'application/json' };
const SECURITY_HEADERS = { 'content-security-policy': CONSOLE_CSP, 'x-content-type-options': 'nosniff', 'referrer-policy': 'no-referrer', 'x-frame-options': 'DENY' };

/** Where `npm run build` writes the console: beside the sources (tests, `node --import`) or from the CLI bundle. */
function defaultDir(): string | null {
  for (const rel of ['../dist/console/', '../../control/dist/console/']) {
    const dir = fileURLToPath(new URL(rel, import.meta.url));
    if (existsSync(join(dir, 'index.html'))) return dir;
  }
  return null;
}

/**
 * The built console (index.html and content-hashed assets), read into memory once. index.html is
 * `no-cache` (always revalidated, so a new release is picked up at once); a hashed asset never changes
 * under its name and is `immutable` for a year. Both are public: the page holds no data until signed in.
 */
export class ConsoleAssets {
  private constructor(
    private readonly index: Buffer,
    private readonly assets: Map<string, { body: Buffer; type: string }>,
  ) {}

  static load(dir: string | null = defaultDir()): ConsoleAssets | null {
    if (dir === null || !existsSync(join(dir, 'index.html'))) return null;
    const assets = new Map<string, { body: Buffer; type: string }>();
    const assetDir = join(dir, 'assets');
    if (existsSync(assetDir)) for (const f of readdirSync(assetDir)) assets.set(f, { body: readFileSync(join(assetDir, f)), type: TYPES[f.slice(f.lastIndexOf('.'))] ?? 'application/octet-stream' });
    return new ConsoleAssets(readFileSync(join(dir, 'index.html')), assets);
  }

  /** Serves `path` when it is the console's (true), else leaves the request to the API (false). */
  serve(req: IncomingMessage, res: ServerResponse, path: string): boolean {
    if (path === '/' || path === '/console') {
      res.writeHead(302, { location: '/console/' }).end();
      return true;
    }
    if (!path.startsWith('/console/')) return false;
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.writeHead(405, { allow: 'GET, HEAD', 'content-type': 'application/json' }).end('{"error":{"code":"method_not_allowed","message":"the console is read with GET"}}');
      return true;
    }
    if (path.startsWith('/console/assets/')) {
      const a = this.assets.get(path.slice('/console/assets/'.length));
      if (!a) {
        res.writeHead(404, { 'content-type': 'text/plain', 'cache-control': 'no-store' }).end('no such asset');
        return true;
      }
      res.writeHead(200, { 'content-type': a.type, 'content-length': a.body.length, 'cache-control': 'public, max-age=31536000, immutable', 'x-content-type-options': 'nosniff' });
      res.end(req.method === 'HEAD' ? undefined : a.body);
      return true;
    }
    // Every other console path is the single page (it routes on the fragment).
    res.writeHead(200, { 'content-type': TYPES['.html'], 'content-length': this.index.length, 'cache-control': 'no-cache', ...SECURITY_HEADERS });
    res.end(req.method === 'HEAD' ? undefined : this.index);
    return true;
  }
}
