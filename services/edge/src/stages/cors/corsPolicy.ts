import type { CorsConfig } from '@turnpike/config';

/**
 * An API's CORS configuration compiled once: which origins are allowed (exact, `*`, wildcard
 * subdomains) and the header lists every answer reuses. Immutable and shared by every request.
 */
export class CorsPolicy {
  readonly anyOrigin: boolean;
  readonly credentials: boolean;
  private readonly exact: ReadonlySet<string>;
  private readonly wildcards: readonly { readonly prefix: string; readonly suffix: string }[];
  /** `access-control-allow-methods` value, or null to echo the requested method (`*`). */
  readonly allowMethods: string | null;
  /** `access-control-allow-headers` value, or null to echo the requested headers (`*`); '' sends none. */
  readonly allowHeaders: string | null;
  readonly exposeHeaders: string;
  readonly maxAge: string;

  constructor(config: CorsConfig) {
    this.credentials = config.allowCredentials;
    this.anyOrigin = config.allowOrigins.includes('*');
    const exact = new Set<string>();
    const wildcards: { prefix: string; suffix: string }[] = [];
    for (const o of config.allowOrigins) {
      if (o === '*') continue;
      const lower = o.toLowerCase();
      const star = lower.indexOf('://*.');
      // `https://*.example.com:8443` → prefix `https://`, suffix `.example.com:8443`.
      if (star >= 0) wildcards.push({ prefix: lower.slice(0, star + 3), suffix: lower.slice(star + 4) });
      else exact.add(lower);
    }
    this.exact = exact;
    this.wildcards = wildcards;
    // With credentials a browser takes `*` literally, so a wildcard is answered by echoing the request.
    this.allowMethods = config.allowMethods.includes('*') ? null : config.allowMethods.join(',');
    this.allowHeaders = config.allowHeaders.includes('*') ? null : config.allowHeaders.join(',');
    this.exposeHeaders = config.exposeHeaders.join(',');
    this.maxAge = config.maxAge > 0 ? String(config.maxAge) : '';
  }

  /** Whether `origin` (the request's Origin header, as sent) may read responses. */
  allows(origin: string): boolean {
    if (this.anyOrigin) return true;
    const o = origin.toLowerCase();
    if (this.exact.has(o)) return true;
    for (const w of this.wildcards) {
      if (o.length > w.prefix.length + w.suffix.length && o.startsWith(w.prefix) && o.endsWith(w.suffix) && SUBDOMAIN.test(o.slice(w.prefix.length, o.length - w.suffix.length))) return true;
    }
    return false;
  }

  /** The exact origins, whose response headers can be built ahead of time. */
  get exactOrigins(): Iterable<string> {
    return this.exact;
  }
}

/** One or more DNS labels: what `*` in `https://*.example.com` may stand for (never a port or a path). */
const SUBDOMAIN = /^[a-z0-9](?:[a-z0-9-]*[a-z0-9])?(?:\.[a-z0-9](?:[a-z0-9-]*[a-z0-9])?)*$/;
