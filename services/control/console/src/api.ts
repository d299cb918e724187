/**
 * The admin API, called with the token kept in sessionStorage: it lives as long as the tab, is never
 * sent by the browser on its own (no cookie, so no cross-site request can use it), and the page's CSP
 * lets no script but the console's own bundle run to read it.
 */
const TOKEN = 'turnpike.adminToken';

export const session = {
  get token(): string | null {
    return sessionStorage.getItem(TOKEN);
  },
  set(token: string): void {
    sessionStorage.setItem(TOKEN, token);
  },
  clear(): void {
    sessionStorage.removeItem(TOKEN);
  },
};

export interface Issue {
  path: string;
  message: string;
  line?: number;
}

/** An admin API error, as `{ error: { code, message, issues? } }` said it. */
export class ApiFailure extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly issues: Issue[] = [],
  ) {
    super(message);
  }
}

/** Called when a call comes back 401: the token was revoked or the session is gone. */
let onUnauthenticated: () => void = () => {};
export const whenSignedOut = (f: () => void) => (onUnauthenticated = f);

export async function call<T>(method: string, path: string, body?: unknown, token = session.token): Promise<T> {
  const headers: Record<string, string> = { accept: 'application/json' };
  if (token) headers.authorization = `Bearer ${token}`;
  if (body !== undefined) headers['content-type'] = 'application/json';
  let res: Response;
  try {
    res = await fetch(path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body), cache: 'no-store' });
  } catch (err) {
    throw new ApiFailure(0, 'network', `the control service did not answer (${(err as Error).message})`);
  }
  if (res.status === 204) return undefined as T;
  const json = (await res.json().catch(() => null)) as { error?: { code: string; message: string; issues?: Issue[] } } | null;
  if (!res.ok) {
    const e = json?.error;
    if (res.status === 401 && token === session.token) onUnauthenticated();
    throw new ApiFailure(res.status, e?.code ?? 'error', e?.message ?? `HTTP ${res.status}`, e?.issues ?? []);
  }
  return json as T;
}

export const seg = encodeURIComponent;
