import { encodeSegment } from '../../http/normalizePath.js';
import { RouteBuildError } from '../../router/routeTable.js';
import { substituteStageVariables } from '@turnpike/config';

/**
 * An integration URI (`https://backend/{proxy}?v=1`, `${stageVariables.origin}/pets/{id}`) compiled once
 * per route and stage: stage variables are fixed per stage, so they are substituted at compile time and
 * only path parameters remain for each request.
 */
export interface CompiledUri {
  /** `http://host:port`, the undici pool key. */
  readonly origin: string;
  /** Path pieces alternating literal text and parameter names: [lit, name, lit, name, lit]. */
  readonly pathParts: readonly string[];
  /** Query string the URI itself carries, without `?`, or ''. */
  readonly query: string;
}

export function compileUri(template: string, variables: Readonly<Record<string, string>>, paramNames: ReadonlySet<string>): CompiledUri {
  const substituted = substituteStageVariables(template, variables);
  if (!substituted.ok) throw new RouteBuildError(`integration uri uses undefined stage variable(s) ${substituted.missing.join(', ')}`);
  const m = /^(https?:\/\/[^/?#{}]+)([^?#]*)(?:\?([^#]*))?$/.exec(substituted.text);
  if (!m) throw new RouteBuildError(`integration uri "${template}" is not an http(s) URL with a literal host`);
  let origin: string;
  try {
    origin = new URL(m[1]!).origin;
  } catch {
    throw new RouteBuildError(`integration uri "${template}" has an invalid host`);
  }
  const pathParts: string[] = [];
  const re = /\{([A-Za-z_][A-Za-z0-9_]*)\+?\}/g;
  const path = m[2] || '/';
  let last = 0;
  for (let g = re.exec(path); g; g = re.exec(path)) {
    if (!paramNames.has(g[1]!)) throw new RouteBuildError(`integration uri uses {${g[1]}}, which the route path does not define`);
    pathParts.push(path.slice(last, g.index), g[1]!);
    last = g.index + g[0].length;
  }
  pathParts.push(path.slice(last));
  return { origin, pathParts, query: m[3] ?? '' };
}

/**
 * The upstream path for one request. `greedyName` is substituted with its segments encoded one by one,
 * so encoded slashes inside a segment stay encoded.
 */
export function expandPath(uri: CompiledUri, params: Record<string, string> | null, greedyName: string | null, greedySegments: readonly string[] | null): string {
  const parts = uri.pathParts;
  if (parts.length === 1) return parts[0]!;
  let out = parts[0]!;
  for (let i = 1; i < parts.length; i += 2) {
    const name = parts[i]!;
    if (name === greedyName && greedySegments) {
      for (let j = 0; j < greedySegments.length; j++) out += (j ? '/' : '') + encodeSegment(greedySegments[j]!);
    } else {
      out += encodeSegment(params?.[name] ?? '');
    }
    out += parts[i + 1]!;
  }
  return out;
}
