import type { RouteMethod } from '@turnpike/config';

/**
 * A segment trie compiled once per API. The most specific route wins whatever the order of definition:
 * at every segment a literal child is tried before a `{param}` child, and a `{param}` before a greedy
 * `{proxy+}`, backtracking when a deeper segment fails. The first path that has a route for the method
 * (or ANY; for HEAD, also GET) is the match; when paths match but none has the method, the most specific
 * one gives `Allow`.
 */

interface MethodTable<R> {
  routes: Map<string, R>;
  /** Precomputed `Allow` header value. */
  allow: string;
}

interface Node<R> {
  literal: Map<string, Node<R>> | null;
  param: Node<R> | null;
  paramName: string;
  greedy: MethodTable<R> | null;
  greedyName: string;
  here: MethodTable<R> | null;
}

export interface RouteMatch<R> {
  route: R;
  /** Decoded path parameters; a greedy parameter is its decoded segments joined with `/`. */
  params: Record<string, string> | null;
  /** Segment index where the greedy parameter starts (relative to the route's segments), or -1. */
  greedyStart: number;
}

export type MatchResult<R> = RouteMatch<R> | { allow: string } | null;

export class RouteConflictError extends Error {}

const newNode = <R>(): Node<R> => ({ literal: null, param: null, paramName: '', greedy: null, greedyName: '', here: null });

export class RouteTrie<R> {
  private readonly root: Node<R> = newNode();

  /** `path` is a route path from config (`/pets/{id}`, `/files/{proxy+}`). */
  add(method: RouteMethod, path: string, route: R): void {
    const parts = path === '/' ? [] : path.slice(1).split('/');
    let node = this.root;
    for (const p of parts) {
      if (p.startsWith('{') && p.endsWith('+}')) {
        const name = p.slice(1, -2);
        if (node.greedy && node.greedyName !== name) throw new RouteConflictError(`{${name}+} conflicts with {${node.greedyName}+} at the same position in ${path}`);
        node.greedyName = name;
        node.greedy ??= { routes: new Map(), allow: '' };
        addMethod(node.greedy, method, route, path);
        return;
      }
      if (p.startsWith('{')) {
        const name = p.slice(1, -1);
        if (node.param && node.paramName !== name) throw new RouteConflictError(`{${name}} conflicts with {${node.paramName}} at the same position in ${path}`);
        node.paramName = name;
        node = node.param ??= newNode();
      } else {
        node.literal ??= new Map();
        let next = node.literal.get(p);
        if (!next) node.literal.set(p, (next = newNode()));
        node = next;
      }
    }
    node.here ??= { routes: new Map(), allow: '' };
    addMethod(node.here, method, route, path);
  }

  match(method: string, segments: readonly string[], offset: number): MatchResult<R> {
    const state: MatchState<R> = { method, segments, firstAllow: null, params: null, greedyStart: -1 };
    const route = walk(this.root, state, offset, offset);
    if (route !== undefined) return { route, params: state.params, greedyStart: state.greedyStart };
    return state.firstAllow !== null ? { allow: state.firstAllow } : null;
  }
}

interface MatchState<R> {
  method: string;
  segments: readonly string[];
  firstAllow: string | null;
  params: Record<string, string> | null;
  greedyStart: number;
}

function addMethod<R>(table: MethodTable<R>, method: RouteMethod, route: R, path: string): void {
  if (table.routes.has(method)) throw new RouteConflictError(`route ${method} ${path} is defined twice`);
  table.routes.set(method, route);
  const methods = [...table.routes.keys()];
  if (table.routes.has('GET') && !table.routes.has('HEAD')) methods.push('HEAD');
  table.allow = table.routes.has('ANY') ? 'GET, POST, PUT, PATCH, DELETE, HEAD, OPTIONS' : methods.join(', ');
}

function pick<R>(table: MethodTable<R>, state: MatchState<R>): R | undefined {
  // HEAD is served by the GET route when there is no HEAD (or ANY) route, as HTTP intends: the response
  // is the GET response's head (RequestContext and the proxy send no body for HEAD).
  const r = table.routes.get(state.method) ?? table.routes.get('ANY') ?? (state.method === 'HEAD' ? table.routes.get('GET') : undefined);
  if (r === undefined && state.firstAllow === null) state.firstAllow = table.allow;
  return r;
}

function walk<R>(node: Node<R>, state: MatchState<R>, i: number, base: number): R | undefined {
  const segs = state.segments;
  const seg = segs[i];
  if (seg === undefined) {
    // Past the last segment: a route ends here or nowhere.
    if (node.here) {
      const r = pick(node.here, state);
      if (r !== undefined) return r;
    }
    return undefined;
  }
  if (node.literal) {
    const next = node.literal.get(seg);
    if (next) {
      const r = walk(next, state, i + 1, base);
      if (r !== undefined) return r;
    }
  }
  if (node.param) {
    const r = walk(node.param, state, i + 1, base);
    if (r !== undefined) {
      (state.params ??= {})[node.paramName] = seg;
      return r;
    }
  }
  if (node.greedy) {
    const r = pick(node.greedy, state);
    if (r !== undefined) {
      let value = seg;
      for (let j = i + 1; j < segs.length; j++) value += '/' + segs[j];
      (state.params ??= {})[node.greedyName] = value;
      state.greedyStart = i - base;
      return r;
    }
  }
  return undefined;
}
