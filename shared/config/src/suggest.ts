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
  const d: number[][] = [Array.from({ length: b.length + 1 }, (_, j) => j)];
  // A cell outside the table is no way from one prefix to the other.
  const cell = (i: number, j: number) => d[i]?.[j] ?? Infinity;
  for (let i = 1; i <= a.length; i++) {
    const row = [i];
    d.push(row);
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      let v = Math.min(cell(i - 1, j) + 1, cell(i, j - 1) + 1, cell(i - 1, j - 1) + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) v = Math.min(v, cell(i - 2, j - 2) + 1);
      row.push(v);
    }
  }
  return cell(a.length, b.length);
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
        const field = def.shape?.[String(path[i])];
        if (field) visit(field, i + 1, depth + 1);
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
