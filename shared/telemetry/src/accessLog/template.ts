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
  /** The text before each variable, and the variable's getter. */
  const pieces: { readonly literal: string; readonly get: ValueGetter<T> }[] = [];
  let last = 0;
  for (const m of format.matchAll(VARIABLE)) {
    const [variable, name] = m;
    if (name === undefined) continue;
    pieces.push({ literal: format.slice(last, m.index), get: resolve(name) });
    last = m.index! + variable.length;
  }
  const tail = format.slice(last);
  return (source) => {
    let out = '';
    for (const p of pieces) out += p.literal + formatValue(p.get(source));
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
