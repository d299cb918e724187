/**
 * Path parameters an integration uses must be ones its route path defines: `{petId}` in an http or
 * http_proxy URI, or `${request.path.petId}` in a header or query mapping, on a route `/pets/{id}` would
 * reach the upstream empty. `turnpike validate` and the edge (which loads through the same check) both
 * refuse such a config, naming the parameter; the edge's route compiler keeps its own guard for configs
 * that did not come through a file (the control plane).
 */

/** The names a route path defines: `/pets/{id}` → id, `/{proxy+}` → proxy. */
export function routePathParameters(routePath: string): ReadonlySet<string> {
  const names = new Set<string>();
  for (const [, name] of routePath.matchAll(/\{([A-Za-z0-9_]+)\+?\}/g)) if (name !== undefined) names.add(name);
  return names;
}

/** The route path of a route key (`GET /pets/{id}` → `/pets/{id}`; `$default` has none). */
export function routeKeyPath(routeKey: string): string {
  const space = routeKey.indexOf(' ');
  return space < 0 ? '' : routeKey.slice(space + 1);
}

/** `{name}` in the path of an integration URI (the host cannot hold one; the query string is literal). */
const URI_PARAMETER = /\{([A-Za-z_][A-Za-z0-9_]*)\+?\}/g;
/** `${request.path.NAME}` in a header or query value. */
const PATH_REFERENCE = /\$\{request\.path\.([^}]+)\}/g;

/** The URI's path parameters that `defined` lacks, each once. */
export function undefinedUriParameters(uri: string, defined: ReadonlySet<string>): string[] {
  const path = /^[a-z]+:\/\/[^/?#]*([^?#]*)/i.exec(uri)?.[1] ?? (uri.split(/[?#]/)[0] ?? uri);
  return missing(path.matchAll(URI_PARAMETER), defined);
}

/** The `${request.path.NAME}` references of a header or query value that `defined` lacks, each once. */
export function undefinedPathReferences(text: string, defined: ReadonlySet<string>): string[] {
  return missing(text.matchAll(PATH_REFERENCE), defined);
}

function missing(matches: Iterable<RegExpMatchArray>, defined: ReadonlySet<string>): string[] {
  const out = new Set<string>();
  for (const [, name] of matches) if (name !== undefined && !defined.has(name)) out.add(name);
  return [...out];
}

/** The message both `validate` and the edge print, e.g. `integration uri uses {petId}, which the route path /pets/{id} does not define`. */
export function undefinedParameterMessage(what: string, name: string, routePath: string): string {
  return `${what} uses ${name}, which the route path ${routePath || '(none)'} does not define`;
}
