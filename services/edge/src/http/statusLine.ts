import { STATUS_CODES } from 'node:http';

/** uWS wants the whole status line ("404 Not Found"); built once for every code instead of per response. */
const LINES: string[] = [];
for (let code = 100; code < 600; code++) LINES[code] = `${code} ${STATUS_CODES[code] ?? 'Unknown'}`;

export function statusLine(code: number): string {
  return LINES[code] ?? `${code} Unknown`;
}
