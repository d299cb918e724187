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
  const [, host, uriPath, uriQuery] = /^(https?:\/\/[^/?#{}]+)([^?#]*)(?:\?([^#]*))?$/.exec(substituted.text) ?? [];
  if (host === undefined) throw new RouteBuildError(`integration uri "${template}" is not an http(s) URL with a literal host`);
  let origin: string;
  try {
    origin = new URL(host).origin;
  } catch {
    throw new RouteBuildError(`integration uri "${template}" has an invalid host`);
  }
  const pathParts: string[] = [];
  const re = /\{([A-Za-z_][A-Za-z0-9_]*)\+?\}/g;
  const path = uriPath || '/';
  let last = 0;
  for (let g = re.exec(path); g; g = re.exec(path)) {
    const param = g[1];
    if (param === undefined || !paramNames.has(param)) throw new RouteBuildError(`integration uri uses {${param}}, which the route path does not define`);
    pathParts.push(path.slice(last, g.index), param);
    last = g.index + g[0].length;
  }
  pathParts.push(path.slice(last));
  return { origin, pathParts, query: uriQuery ?? '' };
}

/**
 * The upstream path for one request. `greedyName` is substituted with its segments encoded one by one,
 * so encoded slashes inside a segment stay encoded.
 */
export function expandPath(uri: CompiledUri, params: Record<string, string> | null, greedyName: string | null, greedySegments: readonly string[] | null): string {
  const parts = uri.pathParts;
  // literal, name, literal, ..., literal: compileUri always ends with a literal.
  let out = parts[0] ?? '';
  for (let i = 1; i < parts.length; i += 2) {
    const name = parts[i];
    const after = parts[i + 1];
    if (name === undefined || after === undefined) break;
    if (name === greedyName && greedySegments) {
      let separator = '';
      for (const segment of greedySegments) {
        out += separator + encodeSegment(segment);
        separator = '/';
      }
    } else {
      out += encodeSegment(params?.[name] ?? '');
    }
    out += after;
  }
  return out;
}
