/**
 * The JSONPath subset API Gateway's `$input.path` / `$input.json` take: `$`, `.name`, `['name']`, `[n]`,
 * `[*]` / `.*`. Each route's mapping owns one JsonPaths, so a path its templates repeat on every request
 * is parsed once (bounded: paths built from request data cannot grow it without limit).
 */
type Step = string | number | typeof ALL;
const ALL = Symbol('all');
const MAX_PATHS = 1_000;

export class JsonPaths {
  private readonly compiled = new Map<string, Step[] | null>();

  /** The value at `path`, or undefined (an invalid path, or nothing there). A wildcard yields a list. */
  evaluate(root: unknown, path: string): unknown {
    let steps = this.compiled.get(path);
    if (steps === undefined) {
      steps = compile(path);
      if (this.compiled.size < MAX_PATHS) this.compiled.set(path, steps);
    }
    return steps === null ? undefined : walk(root, steps);
  }
}

function compile(path: string): Step[] | null {
  let steps: Step[] | null = [];
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
  return steps;
}

function walk(root: unknown, steps: readonly Step[]): unknown {
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
