import { isObj } from '@turnpike/codec';
/** One difference between two deployments' definitions, by field path (`routes.GET /pets.integration.uri`). */
export interface DefinitionChange {
  readonly path: string;
  readonly change: 'added' | 'removed' | 'changed';
  readonly from?: unknown;
  readonly to?: unknown;
}

/** Field-by-field differences of two JSON values; routes are compared by route key, arrays whole. */
export function diffDefinitions(from: unknown, to: unknown, path = ''): DefinitionChange[] {
  if (isObj(from) && isObj(to)) {
    const out: DefinitionChange[] = [];
    for (const k of [...new Set([...Object.keys(from), ...Object.keys(to)])].sort()) {
      const p = path ? `${path}.${k}` : k;
      const [a, b] = [from[k], to[k]];
      if (a === undefined && b === undefined) continue;
      if (b === undefined) out.push({ path: p, change: 'removed', from: a });
      else if (a === undefined) out.push({ path: p, change: 'added', to: b });
      else out.push(...diffDefinitions(a, b, p));
    }
    return out;
  }
  return JSON.stringify(from) === JSON.stringify(to) ? [] : [{ path, change: 'changed', from, to }];
}
