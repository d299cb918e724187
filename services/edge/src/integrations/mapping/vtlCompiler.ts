import { Compile, Helper, parse } from 'velocityjs';

/**
 * Compiles velocityjs's parse tree into JavaScript closures, once per template, so a request pays for
 * evaluating its template and not for interpreting it: velocityjs's renderer walks the tree on every render
 * and rebuilds each reference's source text (`getRefText`) on every access, which cost 30-65 µs per
 * template in the VTL benchmark (loadtests/README.md, "### vtl").
 *
 * The closures reproduce what `new Compile(parse(text), { escape: false }).render(vars)` answers, quirks
 * included (vtlCompiler.test.ts compares both on a corpus): undefined `$x` renders as its source text and
 * `$!x` as nothing, null renders as "null", lists as `[a, b]` and maps as `{k=v}`; `#foreach` over a map
 * leaves its loop variables visible after the loop; `#break` skips the iterations after the current one and
 * only an array loop resets it; velocityjs's built-in methods (`size()`, `keySet()`, `get`, `put`, ...) are
 * velocityjs's own handlers; calling a JavaScript method on an object sets its `eval` property, as
 * velocityjs does. Template text never becomes code: it stays data the closures hold.
 *
 * What the compiler does not reproduce is refused with UnsupportedTemplate, and the caller renders that
 * template with velocityjs: macros, `#define`, custom block directives, calls of top-level references
 * (`$foo()`) and of an `eval` method (both evaluate text as a template at render time), and node shapes the
 * parser produces only for malformed templates (velocityjs throws on those when it renders them).
 */
export type CompiledTemplate = (vars: Record<string, unknown>) => string;

export class UnsupportedTemplate extends Error {}

export function compileTemplate(asts: readonly unknown[]): CompiledTemplate {
  const body = compileList(asts);
  return (vars) => body({ vars, frames: [], broken: false });
}

/** One render's state, as velocityjs keeps it: the root variables, the loop frames (innermost last), `#break`. */
interface Run {
  readonly vars: Record<string, unknown>;
  /** velocityjs's `conditions` (newest first) and `local`, newest last here. */
  readonly frames: Frame[];
  broken: boolean;
}
type Frame = Record<string, unknown>;
type Render = (r: Run) => string;
type Evaluate = (r: Run) => unknown;
/** velocityjs's AST nodes (dist/src/type.d.ts); read loosely, as velocityjs itself reads them. */
type Node = { readonly type?: string; readonly [k: string]: unknown };

// ---- statements ---------------------------------------------------------------------------------

function compileList(asts: readonly unknown[]): Render {
  const parts: Render[] = [];
  let text = '';
  for (const ast of asts) {
    if (typeof ast === 'string') {
      text += ast;
      continue;
    }
    const node = ast as Node;
    if (!Array.isArray(ast) && node.type === 'raw') {
      text += String(node.value);
      continue;
    }
    if (!Array.isArray(ast) && node.type === 'comment') continue;
    if (text !== '') parts.push(constant(text));
    text = '';
    parts.push(compileStatement(ast));
  }
  if (text !== '') parts.push(constant(text));
  const [first, second] = parts;
  if (first === undefined) return () => '';
  if (second === undefined) return first;
  if (parts.length === 2) return (r) => first(r) + second(r);
  return (r) => {
    let s = '';
    for (let i = 0, part = parts[0]; part !== undefined; part = parts[++i]) s += part(r);
    return s;
  };
}

function constant(text: string): Render {
  return () => text;
}

function compileStatement(ast: unknown): Render {
  if (Array.isArray(ast)) return compileBlock(ast);
  const node = ast as Node;
  switch (node.type) {
    case 'references': {
      const ref = compileReference(node, true);
      // velocityjs appends format(value) with `+=`: a value's own toString (or valueOf) applies as there.
      return (r) => '' + (format(ref(r)) as string);
    }
    case 'set':
      return compileSet(node);
    case 'break':
      return (r) => {
        r.broken = true;
        return '';
      };
    default:
      throw new UnsupportedTemplate(`${String(node.type ?? typeof ast)} directive`);
  }
}

function compileBlock(block: readonly unknown[]): Render {
  const head = block[0] as Node | undefined;
  switch (head?.type) {
    case 'if':
      return compileIf(block);
    case 'foreach':
      return compileForeach(head, block.slice(1));
    case 'noescape':
      // Escaping is off (API Gateway does not escape), so #noescape renders its content as it is.
      return compileList(block.slice(1));
    default:
      throw new UnsupportedTemplate(`#${String(head?.type)} block`);
  }
}

function compileIf(block: readonly unknown[]): Render {
  const branches: { cond: Evaluate | null; body: Render }[] = [];
  let cond: Evaluate | null = null;
  let body: unknown[] = [];
  let started = false;
  for (const ast of block) {
    const type = (ast as Node).type;
    if (type !== 'if' && type !== 'elseif' && type !== 'else') {
      body.push(ast);
      continue;
    }
    if (started) branches.push({ cond, body: compileList(body) });
    started = true;
    cond = type === 'else' ? null : compileExpression((ast as Node).condition as Node);
    body = [];
  }
  branches.push({ cond, body: compileList(body) });
  return (r) => {
    for (const b of branches) if (b.cond === null || b.cond(r)) return b.body(r);
    return '';
  };
}

function compileForeach(head: Node, block: readonly unknown[]): Render {
  const to = String(head.to);
  const from = compileLiteral({ ...(head.from as Node), pos: head.pos });
  const body = compileList(block);
  return (r) => {
    const list = from(r) as { length?: unknown } | null | undefined;
    const type = OBJECT_TO_STRING.call(list);
    if (!list || (type !== '[object Array]' && type !== '[object Object]')) return '';
    const items: unknown[] = Array.isArray(list) ? list : Object.values(list);
    const len = items.length;
    const local: Frame = { foreach: { count: 0, index: 0, hasNext: false }, velocityCount: 0 };
    let s = '';
    for (let i = 0; i < len; i++) {
      // Array.prototype.forEach, which velocityjs iterates with, skips holes.
      if (!(i in items) || r.broken) continue;
      local[to] = items[i];
      local.foreach = { count: i + 1, index: i, hasNext: i + 1 < len };
      local.velocityCount = i + 1;
      // velocityjs enters the loop's scope unless it is still open (a nested loop may have closed it).
      if (r.frames.lastIndexOf(local) === -1) r.frames.push(local);
      s += body(r);
    }
    // velocityjs closes the newest scope (whichever it is) only when the list has a truthy `length`.
    if (list.length) {
      r.broken = false;
      const at = r.frames.lastIndexOf(local);
      if (at !== -1) r.frames[at] = {};
      r.frames.pop();
    }
    return s;
  };
}

function compileSet(node: Node): Render {
  const [ref, valueAst] = node.equal as [Node, Node];
  if (ref.args !== undefined) throw new UnsupportedTemplate('#set of a call');
  const id = String(ref.id);
  const path = ref.path as readonly Node[] | undefined;
  const keys = (path ?? []).map((exp): Evaluate => {
    if (exp.type === 'property') {
      const k = exp.id;
      return () => k;
    }
    if (exp.type === 'index' && exp.id) {
      const lit = compileLiteral(exp.id as Node);
      return (r) => String(lit(r));
    }
    return () => '';
  });
  const value = valueAst.type === 'math' ? compileExpression(valueAst) : compileLiteral(valueAst);
  return (r) => {
    const target = setTarget(r, id);
    const pathKeys = keys.map((k) => k(r) as string);
    let resolved = resolveSetPath(target, id, pathKeys);
    if (resolved.blocked) return '';
    const val = value(r);
    if (!path) {
      target[id] = val;
      return '';
    }
    resolved = resolveSetPath(target, id, pathKeys);
    if (resolved.blocked) return '';
    if (resolved.shouldSetRoot) target[id] = resolved.rootRef;
    if (resolved.key !== undefined) (resolved.baseRef as Record<string, unknown>)[resolved.key] = val;
    return '';
  };
}

/** velocityjs's getContext: the newest loop frame that has the variable, else the root variables. */
function setTarget(r: Run, id: string): Record<string, unknown> {
  for (let i = r.frames.length - 1; i >= 0; i--) {
    const frame = r.frames[i];
    if (frame === undefined) continue;
    // The frame's own hasOwnProperty, as velocityjs calls it (a loop variable named hasOwnProperty breaks it there too).
    if ((frame as { hasOwnProperty(k: string): boolean }).hasOwnProperty(id)) return frame;
  }
  return r.vars;
}

/** velocityjs's SetValue.resolveSetPath. */
function resolveSetPath(
  context: Record<string, unknown>,
  id: string,
  pathKeys: readonly string[],
): { blocked: boolean; rootRef?: unknown; shouldSetRoot?: boolean; baseRef?: unknown; key?: string } {
  if (pathKeys.length === 0) return { blocked: isBlockedKey(context, id, true) };
  if (isBlockedKey(context, id, false)) return { blocked: true };
  let rootRef = context[id];
  let shouldSetRoot = false;
  if (typeof rootRef !== 'object') {
    rootRef = {};
    shouldSetRoot = true;
  }
  let baseRef = rootRef;
  for (let i = 0, key = pathKeys[0]; key !== undefined; key = pathKeys[++i]) {
    if (baseRef === undefined || baseRef === null) return { blocked: hasBlockedUnknownPath(pathKeys, i), rootRef, shouldSetRoot };
    const isEnd = pathKeys.length === i + 1;
    if (isBlockedKey(baseRef, key, isEnd)) return { blocked: true };
    if (isEnd) return { blocked: false, rootRef, shouldSetRoot, baseRef, key };
    baseRef = (baseRef as Record<string, unknown>)[key];
  }
  return { blocked: false, rootRef, shouldSetRoot };
}

// ---- expressions ----------------------------------------------------------------------------------

function compileExpression(ast: Node): Evaluate {
  if (ast.type !== 'math') return compileLiteral(ast);
  const [x, y] = (ast.expression as Node[]).map(compileExpression) as [Evaluate, Evaluate];
  // == and != are JavaScript's loose comparisons, as in velocityjs.
  type N = number;
  switch (ast.operator) {
    case '+':
      return (r) => (x(r) as N) + (y(r) as N);
    case '-':
      return (r) => (x(r) as N) - (y(r) as N);
    case '/':
      return (r) => (x(r) as N) / (y(r) as N);
    case '%':
      return (r) => (x(r) as N) % (y(r) as N);
    case '*':
      return (r) => (x(r) as N) * (y(r) as N);
    case '||':
      return (r) => x(r) || y(r);
    case '&&':
      return (r) => x(r) && y(r);
    case '>':
      return (r) => (x(r) as N) > (y(r) as N);
    case '<':
      return (r) => (x(r) as N) < (y(r) as N);
    case '==':
      return (r) => x(r) == y(r);
    case '>=':
      return (r) => (x(r) as N) >= (y(r) as N);
    case '<=':
      return (r) => (x(r) as N) <= (y(r) as N);
    case '!=':
      return (r) => x(r) != y(r);
    case 'minus':
      return (r) => -(x(r) as N);
    case 'not':
      return (r) => !x(r);
    case 'parenthesis':
      return x;
    default:
      throw new UnsupportedTemplate(`operator ${String(ast.operator)}`);
  }
}

/** velocityjs's getLiteral: strings (double-quoted ones interpolated), numbers, lists, ranges, maps, booleans, references. */
function compileLiteral(ast: Node): Evaluate {
  switch (ast.type) {
    case 'string': {
      const text = String(ast.value);
      if (!ast.isEval || (!text.includes('#') && !text.includes('$'))) return () => text;
      let asts: unknown[];
      try {
        asts = parse(text) as unknown[];
      } catch {
        // velocityjs parses the string when it evaluates it, and throws then.
        throw new UnsupportedTemplate('a string velocityjs cannot parse');
      }
      return compileList(asts);
    }
    case 'integer': {
      const n = parseInt(ast.value as string, 10);
      return () => n;
    }
    case 'decimal': {
      const n = parseFloat(ast.value as string);
      return () => n;
    }
    case 'array':
      return ast.isRange === true ? compileRange(ast.value as unknown[]) : compileArray(ast.value as Node[]);
    case 'map': {
      const map = (ast.value ?? {}) as Record<string, Node>;
      const entries = Object.entries(map).map(([k, node]) => [k, compileLiteral(node)] as const);
      return (r) => {
        const ret: Record<string, unknown> = {};
        for (const [k, v] of entries) ret[k] = v(r);
        return ret;
      };
    }
    case 'bool': {
      const v = ({ true: true, false: false, null: null } as Record<string, boolean | null>)[ast.value as string];
      return () => v;
    }
    case 'references':
      return compileReference(ast, false);
    default:
      throw new UnsupportedTemplate(`${String(ast.type)} value`);
  }
}

function compileArray(items: readonly Node[]): Evaluate {
  const fns = items.map(compileLiteral);
  return (r) => fns.map((f) => f(r));
}

function compileRange(bounds: readonly unknown[]): Evaluate {
  const [from, to] = bounds.map((exp): Evaluate => {
    if (typeof exp === 'string') {
      const n = parseInt(exp, 10);
      return () => n;
    }
    if (typeof exp === 'number') return () => exp;
    if ((exp as Node).type !== 'references') throw new UnsupportedTemplate('range bound');
    return compileReference(exp as Node, false);
  }) as [Evaluate, Evaluate];
  return (r) => {
    const begin = from(r) as number;
    const end = to(r) as number;
    if (Number.isNaN(begin) || Number.isNaN(end)) return [];
    const ret: number[] = [];
    if (begin < end) for (let i = begin; i <= end; i++) ret.push(i);
    else for (let i = begin; i >= end; i--) ret.push(i);
    return ret;
  };
}

// ---- references ------------------------------------------------------------------------------------

/**
 * velocityjs's getReferences: the innermost loop frame that has the name, else the root variable; then
 * each `.property`, `[index]` and `.method()` of the path; `render` (velocityjs's isVal) makes an undefined
 * result the reference's source text (`$!` makes it empty).
 */
function compileReference(ast: Node, render: boolean): Evaluate {
  if (ast.args !== undefined) throw new UnsupportedTemplate('a call of a top-level reference');
  const id = String(ast.id);
  const steps = ((ast.path ?? []) as Node[]).map((p) => compileStep(p, ast));
  const missing = render ? (ast.leader === '$!' ? '' : Helper.getRefText(ast as never)) : undefined;
  const lookup = (r: Run): unknown => {
    const frames = r.frames;
    for (let i = frames.length - 1; i >= 0; i--) {
      const frame = frames[i];
      if (frame !== undefined && hasOwn(frame, id)) return frame[id];
    }
    return isBlockedKey(r.vars, id, false) ? undefined : r.vars[id];
  };
  if (steps.length === 0) {
    return (r) => {
      const v = lookup(r);
      return v === undefined ? missing : v;
    };
  }
  return (r) => {
    let v = lookup(r);
    for (let i = 0, step = steps[0]; step !== undefined; step = steps[++i]) v = v === null || v === undefined ? undefined : step(r, v);
    return v === undefined ? missing : v;
  };
}

type Step = (r: Run, base: unknown) => unknown;

function compileStep(p: Node, ref: Node): Step {
  const id = p.id as string;
  if (p.type === 'property') return (_r, base) => (isBlockedKey(base, id, false) ? undefined : (base as Record<string, unknown>)[id]);
  if (p.type === 'index') {
    const idx = p.id as Node;
    if (typeof idx !== 'object' || idx === null) throw new UnsupportedTemplate('index');
    if (idx.type === 'references') {
      const key = compileReference(idx, false);
      return (r, base) => index(base, key(r));
    }
    const k = idx.value;
    return (_r, base) => index(base, k);
  }
  if (p.type === 'method') return compileMethod(id, (p.args || []) as Node[], ref);
  throw new UnsupportedTemplate(`${String(p.type)} in a reference`);
}

function index(base: unknown, key: unknown): unknown {
  if (isBlockedKey(base, String(key), false)) return undefined;
  return (base as Record<string, unknown>)[key as string];
}

/**
 * velocityjs's getPropMethod: its built-in handlers first (when one could match the name), then the
 * object's own JavaScript method.
 */
function compileMethod(id: string, argAsts: readonly Node[], ref: Node): Step {
  if (id === 'eval') throw new UnsupportedTemplate('an eval() call');
  const args = argAsts.map(compileLiteral);
  const handled = mayBeHandled(id);
  return (r, base) => {
    if (isBlockedKey(base, id, false)) return undefined;
    const fn = (base as Record<string, unknown>)[id] as ((...a: unknown[]) => unknown) | undefined;
    const params = args.map((a) => a(r));
    if (handled) {
      const payload = { property: id, params, context: base };
      const matched = HANDLERS.find((h) => h && h.match(payload));
      if (matched) return matched.resolve(payload) as unknown;
    }
    if (!fn || !fn.call) return undefined;
    if (typeof base === 'object' && base) (base as Record<string, unknown>).eval = VELOCITY_EVAL;
    try {
      return fn.apply(base, params);
    } catch (e) {
      const pos = (ref.pos ?? { first_line: 'unknown', first_column: 'unknown' }) as { first_line: unknown; first_column: unknown };
      if (e instanceof Error) e.message += `on ${Helper.getRefText(ref as never)} at L/N ${String(pos.first_line)}:${String(pos.first_column)}`;
      throw e;
    }
  };
}

// ---- velocityjs's helpers ------------------------------------------------------------------------

/** velocityjs's utils.format: how a reference's value is written. */
function format(value: unknown): unknown {
  if (Array.isArray(value)) return '[' + value.map((v) => format(v)).join(', ') + ']';
  if (typeof value === 'object' && value !== null) {
    if ((value as { toString: () => string }).toString.toString().indexOf('[native code]') === -1) return value;
    const o = value as Record<string, unknown>;
    return '{' + Object.keys(o).map((k) => `${k}=${format(o[k]) as string}`).join(', ') + '}';
  }
  return value;
}

/** velocityjs's prototype guard: `__proto__` always, `constructor` / `prototype` unless the object's own. */
function isBlockedKey(base: unknown, key: string, isEnd: boolean): boolean {
  if (key === '__proto__') return true;
  if (key === 'prototype' && typeof base === 'function') return true;
  return !isEnd && (key === 'constructor' || key === 'prototype') && !hasOwn(base, key);
}

function hasBlockedUnknownPath(keys: readonly string[], start: number): boolean {
  return keys.slice(start).some((key, i) => key === '__proto__' || (start + i !== keys.length - 1 && (key === 'constructor' || key === 'prototype')));
}

function hasOwn(base: unknown, key: string): boolean {
  return (typeof base === 'object' || typeof base === 'function') && base !== null && Object.prototype.hasOwnProperty.call(base, key);
}

const OBJECT_TO_STRING = Object.prototype.toString;

interface MethodHandler {
  uid: string;
  match(payload: { property: string; context: unknown; params: unknown[] }): boolean;
  resolve(payload: { property: string; context: unknown; params: unknown[] }): unknown;
}

/** velocityjs's built-in method handlers, taken from velocityjs itself so both renderers call the same code. */
class HandlerSource extends Compile {
  handlers(): readonly MethodHandler[] {
    return (this.config.customMethodHandlers ?? []) as readonly MethodHandler[];
  }
}
const HANDLERS = new HandlerSource([]).handlers();

/**
 * Names velocityjs 2.1's handlers can match (exactly, or get/is/set followed by a name); other methods
 * skip the search. Should a velocityjs release change its handler list, every name is searched.
 */
const KNOWN_HANDLERS = ['get', 'set', 'getValue', 'isValue', 'setValue', 'keySet', 'entrySet', 'size', 'put', 'add', 'remove', 'subList'];
const HANDLED_NAMES = new Set(['get', 'set', 'keySet', 'entrySet', 'size', 'put', 'add', 'remove', 'subList']);
const HANDLERS_KNOWN = HANDLERS.length === KNOWN_HANDLERS.length && HANDLERS.every((h, i) => h.uid === `system: ${KNOWN_HANDLERS[i] ?? ''}`);
function mayBeHandled(name: string): boolean {
  return !HANDLERS_KNOWN || HANDLED_NAMES.has(name) || /^(?:get|is|set)./.test(name);
}

/**
 * velocityjs sets `eval` on an object whose JavaScript method a template calls; its own function, so a map
 * that got one prints and counts as it does under velocityjs. Templates that could call it are rendered by
 * velocityjs (compileMethod refuses `eval`, compileReference top-level calls).
 */
const VELOCITY_EVAL: unknown = (() => {
  const probe: Record<string, unknown> = {};
  new Compile(parse('$o.toString()')).render({ o: probe });
  return probe.eval;
})();
