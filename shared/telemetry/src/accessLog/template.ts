/**
 * An access-log format in API Gateway's vocabulary (`{"requestId":"$context.requestId", ...}`), compiled
 * once into literal text and value getters, so writing a line is one pass of string concatenation.
 *
 * Values are JSON-escaped (without quotes): formats are JSON templates, and a client-controlled value
 * (a path, a user agent, an error message) must not be able to break the line or forge fields. A missing
 * value is written `-`, as API Gateway does.
 */

export type ValueGetter<T> = (source: T) => string | number | null | undefined;

/** `$context.a.b` (the same pattern the config schema validates formats with). */
const VARIABLE = /\$context\.([A-Za-z0-9_]+(?:\.[A-Za-z0-9_]+)*)/g;

export function compileAccessLogFormat<T>(format: string, resolve: (name: string) => ValueGetter<T>): (source: T) => string {
  const literals: string[] = [];
  const getters: ValueGetter<T>[] = [];
  let last = 0;
  for (const m of format.matchAll(VARIABLE)) {
    literals.push(format.slice(last, m.index));
    getters.push(resolve(m[1]!));
    last = m.index! + m[0].length;
  }
  const tail = format.slice(last);
  const n = getters.length;
  return (source) => {
    let out = '';
    for (let i = 0; i < n; i++) out += literals[i]! + formatValue(getters[i]!(source));
    return out + tail;
  };
}

// Quotes, backslashes, control characters, and lone surrogates that JSON.stringify would escape.
const NEEDS_ESCAPE = /["\\\u0000-\u001f\u007f\u2028\u2029\ud800-\udfff]/;

function formatValue(v: string | number | null | undefined): string {
  if (v === null || v === undefined || v === '') return '-';
  if (typeof v === 'number') return Number.isFinite(v) ? String(v) : '-';
  return NEEDS_ESCAPE.test(v) ? JSON.stringify(v).slice(1, -1) : v;
}
