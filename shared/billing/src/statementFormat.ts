import type { Statement } from './rating.js';

const CSV_COLUMNS = ['keyId', 'planId', 'month', 'currency', 'kind', 'description', 'priceVersion', 'apiStage', 'route', 'tier', 'quantity', 'unit', 'unitPrice', 'amount'] as const;

/** One CSV row per line item, then a total row; RFC 4180 quoting. */
export function statementsToCsv(statements: readonly Statement[]): string {
  const rows: string[] = [CSV_COLUMNS.join(',')];
  for (const s of statements) {
    for (const l of s.lines) {
      const values: Record<(typeof CSV_COLUMNS)[number], unknown> = { keyId: s.keyId, planId: s.planId, month: s.month, currency: s.currency, ...l };
      rows.push(CSV_COLUMNS.map((c) => csvField(values[c])).join(','));
    }
    const total: Record<string, unknown> = { keyId: s.keyId, planId: s.planId, month: s.month, currency: s.currency, kind: 'total', amount: s.total };
    rows.push(CSV_COLUMNS.map((c) => csvField(total[c])).join(','));
  }
  return `${rows.join('\r\n')}\r\n`;
}

function csvField(v: unknown): string {
  if (v === null || v === undefined) return '';
  const s = String(v);
  return /[",\r\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
}

/** A statement for people: aligned columns, the total last. */
export function statementToText(s: Statement): string {
  const rows = s.lines.map((l) => [l.description, `${l.quantity} ${l.unit}`, `${l.unitPrice}`, l.amount]);
  const head = ['ITEM', 'QUANTITY', 'UNIT PRICE', `AMOUNT (${s.currency})`];
  const all = [head, ...rows];
  const widths = head.map((_, i) => Math.max(...all.map((r) => (r[i] ?? '').length)));
  const fmt = (r: string[]) => r.map((c, i) => (i >= 2 ? c.padStart(widths[i] ?? 0) : c.padEnd(widths[i] ?? 0))).join('  ').trimEnd();
  return [
    `Statement for API key ${s.keyId}, usage plan ${s.planId}, ${s.month}`,
    `${s.calls.toLocaleString('en-US')} billable calls, ${s.bytes.toLocaleString('en-US')} response bytes`,
    '',
    ...all.map(fmt),
    '',
    `Total: ${s.total} ${s.currency}`,
  ].join('\n');
}
