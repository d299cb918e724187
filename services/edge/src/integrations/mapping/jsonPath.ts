/**
 * The JSONPath subset API Gateway's `$input.path` / `$input.json` take: `$`, `.name`, `['name']`, `[n]`,
 * `[*]` / `.*`. Paths are compiled once per distinct string (templates repeat them on every request).
 */
type Step = string | number | typeof ALL;
const ALL = Symbol('all');
const compiled = new Map<string, Step[] | null>();

function compile(path: string): Step[] | null {
  let steps = compiled.get(path);
  if (steps !== undefined) return steps;
  steps = [];
  const re = /\.([A-Za-z_$][\w$-]*|\*)|\[\s*(?:'([^']*)'|"([^"]*)"|(\d+)|(\*))\s*\]/gy;
  const p = path.trim();
  if (!p.startsWith('$')) steps = null;
  for (let i = 1; steps !== null && i < p.length; i = re.lastIndex) {
    re.lastIndex = i;
    const m = re.exec(p);
    if (m === null) steps = null;
    else if (m[1] === '*' || m[5]) steps.push(ALL);
    else if (m[1] !== undefined) steps.push(m[1]);
    else if (m[2] !== undefined || m[3] !== undefined) steps.push((m[2] ?? m[3])!);
    else steps.push(Number(m[4]));
  }
  if (compiled.size < 10_000) compiled.set(path, steps);
  return steps;
}

/** The value at `path`, or undefined (an invalid path, or nothing there). A wildcard yields a list. */
export function evaluate(root: unknown, path: string): unknown {
  const steps = compile(path);
  if (steps === null) return undefined;
  let current: unknown[] = [root];
  let many = false;
  for (const step of steps) {
    const next: unknown[] = [];
    for (const v of current) {
      if (v === null || typeof v !== 'object') continue;
      if (step === ALL) {
        many = true;
        next.push(...(Array.isArray(v) ? v : Object.values(v)));
      } else {
        const x = (v as Record<string | number, unknown>)[step];
        if (x !== undefined) next.push(x);
      }
    }
    current = next;
  }
  return many ? current : current[0];
}
