import type { z } from 'zod';

/** ` (did you mean "mock"?)` for the closest candidate within a small edit distance, else ''. */
export function didYouMean(value: string, candidates: Iterable<string>): string {
  let best: string | null = null;
  let bestDistance = Math.max(2, Math.floor(value.length / 3)) + 1;
  const lower = value.toLowerCase();
  for (const c of candidates) {
    const d = c.toLowerCase() === lower ? 0 : editDistance(lower, c.toLowerCase());
    if (d < bestDistance) {
      best = c;
      bestDistance = d;
    }
  }
  return best === null ? '' : ` (did you mean "${best}"?)`;
}

/** Levenshtein distance with adjacent transpositions (`reuqest` is one typo from `request`). */
function editDistance(a: string, b: string): number {
  const rows = a.length + 1;
  const cols = b.length + 1;
  const d: number[][] = Array.from({ length: rows }, (_, i) => Array.from({ length: cols }, (_, j) => (i === 0 ? j : j === 0 ? i : 0)));
  for (let i = 1; i < rows; i++) {
    for (let j = 1; j < cols; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      let v = Math.min(d[i - 1]![j]! + 1, d[i]![j - 1]! + 1, d[i - 1]![j - 1]! + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) v = Math.min(v, d[i - 2]![j - 2]! + 1);
      d[i]![j] = v;
    }
  }
  return d[a.length]![b.length]!;
}

interface ZodDef {
  type: string;
  shape?: Record<string, z.ZodType>;
  innerType?: z.ZodType;
  in?: z.ZodType;
  valueType?: z.ZodType;
  element?: z.ZodType;
  options?: z.ZodType[];
  getter?: () => z.ZodType;
}

const defOf = (s: z.ZodType): ZodDef => (s as unknown as { _zod: { def: ZodDef } })._zod.def;

/**
 * The field names an object at `path` of `schema` accepts: what an unknown field is compared with to
 * suggest the one that was meant. Unions contribute the fields of every member.
 */
export function knownFields(schema: z.ZodType, path: ReadonlyArray<PropertyKey>): Set<string> {
  const out = new Set<string>();
  const visit = (s: z.ZodType, i: number, depth: number): void => {
    if (depth > 64) return;
    const def = defOf(s);
    switch (def.type) {
      case 'optional':
      case 'nullable':
      case 'default':
      case 'prefault':
      case 'readonly':
      case 'catch':
      case 'nonoptional':
        return visit(def.innerType!, i, depth + 1);
      case 'pipe':
        return visit(def.in!, i, depth + 1);
      case 'lazy':
        return visit(def.getter!(), i, depth + 1);
      case 'union':
        for (const o of def.options!) visit(o, i, depth + 1);
        return;
      case 'object':
        if (i === path.length) {
          for (const k of Object.keys(def.shape!)) out.add(k);
          return;
        }
        if (def.shape![String(path[i])]) visit(def.shape![String(path[i])]!, i + 1, depth + 1);
        return;
      case 'record':
        if (i < path.length) visit(def.valueType!, i + 1, depth + 1);
        return;
      case 'array':
        if (i < path.length) visit(def.element!, i + 1, depth + 1);
        return;
      default:
        return;
    }
  };
  visit(schema, 0, 0);
  return out;
}
