/** A non-2xx answer of the admin API: its status and `{ error: { code, message } }` body. */
export class ControlCallError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly body: unknown,
  ) {
    super(message);
    this.name = 'ControlCallError';
  }
}

/** The admin API over HTTP, for the CLI (and anything else in TypeScript): one method per call shape. */
export class ControlClient {
  constructor(
    readonly endpoint: string,
    private readonly token: string,
  ) {}

  async call<T = unknown>(method: string, path: string, opts: { body?: unknown; ifMatch?: number } = {}): Promise<T> {
    const headers: Record<string, string> = { authorization: `Bearer ${this.token}`, accept: 'application/json' };
    if (opts.body !== undefined) headers['content-type'] = 'application/json';
    if (opts.ifMatch !== undefined) headers['if-match'] = `"${opts.ifMatch}"`;
    let res: Response;
    try {
      res = await fetch(new URL(path, this.endpoint), { method, headers, body: opts.body === undefined ? undefined : JSON.stringify(opts.body) });
    } catch (err) {
      throw new ControlCallError(0, 'unreachable', `cannot reach the control API at ${this.endpoint}: ${(err as Error & { cause?: Error }).cause?.message ?? (err as Error).message}`, null);
    }
    const text = await res.text();
    const body: unknown = text ? JSON.parse(text) : undefined;
    if (!res.ok) {
      const e = (body as { error?: { code?: string; message?: string } } | undefined)?.error;
      throw new ControlCallError(res.status, e?.code ?? 'error', e?.message ?? `HTTP ${res.status}`, body);
    }
    return body as T;
  }
}

/** Path segments are percent-encoded (`$default`, `(none)` stay readable: they are valid in a path). */
export const seg = (s: string) => encodeURIComponent(s).replace(/%24/g, '$').replace(/%28/g, '(').replace(/%29/g, ')');
