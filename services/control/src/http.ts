import type { IncomingMessage } from 'node:http';
import type { ScopeArea } from '@turnpike/redis';

/** An error answered as `{ "error": { "code", "message", ... } }` with its status. */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly extra: Record<string, unknown> = {},
  ) {
    super(message);
  }
}

/** What a handler gets: path parameters, the query, the parsed JSON body, and who is calling. */
export interface Call {
  readonly params: Readonly<Record<string, string>>;
  readonly query: URLSearchParams;
  readonly body: unknown;
  /** `If-Match: "<version>"` (or a bare number): the version the caller read, for compare-and-set. */
  readonly expectedVersion: number | undefined;
  /** The admin token's name, recorded as who made a change. */
  readonly by: string;
}

/** A handler's answer with a status other than 200; any other value is sent as a 200 JSON body. */
export class Reply {
  constructor(
    readonly status: number,
    readonly body?: unknown,
  ) {}
}

export const reply = (status: number, body?: unknown) => new Reply(status, body);

export type Handler = (call: Call) => Promise<unknown>;

interface Route {
  readonly method: string;
  readonly template: string;
  readonly pattern: RegExp;
  readonly names: readonly string[];
  readonly area: ScopeArea;
  readonly access: 'read' | 'write';
  readonly handler: Handler;
}

/** Path templates like `/v1/apis/{api}/stages/{stage}`; a parameter is one path segment. */
export class Router {
  private readonly routes: Route[] = [];

  add(method: string, template: string, area: ScopeArea, handler: Handler): this {
    const names: string[] = [];
    const source = template.replace(/\{([A-Za-z]+)\}/g, (_, n: string) => (names.push(n), '([^/]+)'));
    this.routes.push({ method, template, pattern: new RegExp(`^${source}$`), names, area, access: method === 'GET' ? 'read' : 'write', handler });
    return this;
  }

  /** Every endpoint: what services/control/openapi.yaml documents (a test holds the two equal). */
  get endpoints(): { method: string; template: string; area: ScopeArea }[] {
    return this.routes.map(({ method, template, area }) => ({ method, template, area }));
  }

  /** The route and its parameters; a path known under other methods is a 405 naming them. */
  find(method: string, path: string): { route: Route; params: Record<string, string> } {
    const allowed: string[] = [];
    for (const route of this.routes) {
      const m = route.pattern.exec(path);
      if (!m) continue;
      if (route.method !== method) {
        allowed.push(route.method);
        continue;
      }
      const params: Record<string, string> = {};
      route.names.forEach((n, i) => {
        const raw = m[i + 1];
        if (raw === undefined) return;
        try {
          params[n] = decodeURIComponent(raw);
        } catch {
          throw new ApiError(400, 'invalid', `path segment "${m[i + 1]}" is not valid percent-encoding`);
        }
      });
      return { route, params };
    }
    if (allowed.length) throw new ApiError(405, 'method_not_allowed', `${method} is not allowed here (allowed: ${allowed.join(', ')})`, { allow: allowed });
    throw new ApiError(404, 'not_found', `no such endpoint: ${method} ${path}`);
  }
}

const MAX_BODY = 5 * 1024 * 1024;

/** The request body as JSON (undefined when empty); anything but JSON is a 415, a bad document a 400. */
export async function readJson(req: IncomingMessage): Promise<unknown> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const c of req as AsyncIterable<Buffer>) {
    size += c.length;
    if (size > MAX_BODY) throw new ApiError(413, 'too_large', `a request body is at most ${MAX_BODY} bytes`);
    chunks.push(c);
  }
  if (size === 0) return undefined;
  const type = req.headers['content-type'] ?? '';
  if (!/^application\/json\b/i.test(type)) throw new ApiError(415, 'unsupported_media_type', 'send the body as application/json');
  try {
    return JSON.parse(Buffer.concat(chunks).toString('utf8'));
  } catch (err) {
    throw new ApiError(400, 'invalid', `the body is not JSON: ${(err as Error).message}`);
  }
}

export function parseIfMatch(value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  const m = /^\s*(?:W\/)?"?(\d{1,15})"?\s*$/.exec(value);
  if (!m) throw new ApiError(400, 'invalid', 'If-Match must be the record version read, e.g. If-Match: "3"');
  return Number(m[1]);
}

/** The body as an object (400 otherwise). */
export function objectBody(call: Call): Record<string, unknown> {
  const b = call.body;
  if (b === null || typeof b !== 'object' || Array.isArray(b)) throw new ApiError(400, 'invalid', 'the body must be a JSON object');
  return b as Record<string, unknown>;
}

export function stringField(o: Record<string, unknown>, name: string, required: true): string;
export function stringField(o: Record<string, unknown>, name: string, required?: false): string | undefined;
export function stringField(o: Record<string, unknown>, name: string, required = false): string | undefined {
  const v = o[name];
  if (v === undefined || v === null) {
    if (required) throw new ApiError(400, 'invalid', `"${name}" is required`);
    return undefined;
  }
  if (typeof v !== 'string') throw new ApiError(400, 'invalid', `"${name}" must be a string`);
  return v;
}

/** `{ "k": "v" }` with string values and stage-variable names. */
export function variablesField(o: Record<string, unknown>, name: string): Record<string, string> | undefined {
  const v = o[name];
  if (v === undefined || v === null) return undefined;
  if (typeof v !== 'object' || Array.isArray(v)) throw new ApiError(400, 'invalid', `"${name}" must be an object of strings`);
  for (const [k, x] of Object.entries(v)) {
    if (!/^[A-Za-z0-9_]+$/.test(k)) throw new ApiError(400, 'invalid', `${name}.${k}: stage variable names are letters, digits and _`);
    if (typeof x !== 'string') throw new ApiError(400, 'invalid', `${name}.${k} must be a string`);
  }
  return v as Record<string, string>;
}
