/** One sample of the Prometheus text exposition: `name{labels} value`. */
export interface PromSample {
  readonly name: string;
  readonly labels: Readonly<Record<string, string>>;
  readonly value: number;
}

const LINE = /^([A-Za-z_:][A-Za-z0-9_:]*)(?:\{(.*)\})?\s+(\S+)/;
const LABEL = /([A-Za-z_][A-Za-z0-9_]*)="((?:[^"\\]|\\.)*)"/g;

/** The samples whose metric name starts with one of `prefixes` (the rest are not parsed at all). */
export function parsePrometheusText(text: string, prefixes: readonly string[]): PromSample[] {
  const out: PromSample[] = [];
  for (const line of text.split('\n')) {
    if (line === '' || line.startsWith('#') || !prefixes.some((p) => line.startsWith(p))) continue;
    const [, name, labelText, valueText] = LINE.exec(line) ?? [];
    if (name === undefined) continue;
    const labels: Record<string, string> = {};
    if (labelText) for (const [, label, text] of labelText.matchAll(LABEL)) if (label !== undefined && text !== undefined) labels[label] = text.replace(/\\(.)/g, (_, c: string) => (c === 'n' ? '\n' : c));
    const value = valueText === '+Inf' ? Infinity : Number(valueText);
    if (!Number.isNaN(value)) out.push({ name, labels, value });
  }
  return out;
}
