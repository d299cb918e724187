import type { ConfigIssue } from './errors.js';
import { formatPath } from './errors.js';
import { lineOf, type SourceDoc } from './source.js';

const ENV_REF = /\$\{env:([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}/g;

/** Why a document sent to the control service may not use `${env:...}` (docs/versions.md). */
export const ENV_REFUSED = 'is resolved where a file is loaded (turnpike apis put resolves it from your environment); the control service never reads its own environment into a definition';

/**
 * Replaces `${env:NAME}` and `${env:NAME:-default}` in every string value, so one file serves several
 * environments (12-factor). A variable that is unset and has no default is a config error naming the field.
 * Only whole-file string values are touched; `${stageVariables.x}` and `${context.x}` are left for routes.
 * `env` null refuses every reference: a document uploaded to a shared service must not pick up that
 * service's secrets.
 */
export function substituteEnv(src: SourceDoc, env: NodeJS.ProcessEnv | null, issues: ConfigIssue[]): unknown {
  const walk = (value: unknown, path: PropertyKey[]): unknown => {
    if (typeof value === 'string') {
      if (value.indexOf('${env:') < 0) return value;
      return value.replace(ENV_REF, (ref: string, name: string, dflt: string | undefined) => {
        if (env === null) {
          issues.push({ file: src.file, path: formatPath(path), line: lineOf(src, path), message: `${ref.replace(/:-.*\}$/, '}')} ${ENV_REFUSED}` });
          return ref;
        }
        const v = env[name];
        if (v !== undefined) return v;
        if (dflt !== undefined) return dflt;
        issues.push({ file: src.file, path: formatPath(path), line: lineOf(src, path), message: `environment variable ${name} is not set (use \${env:${name}:-default} for a default)` });
        return '';
      });
    }
    if (Array.isArray(value)) return value.map((v, i) => walk(v, [...path, i]));
    if (value && typeof value === 'object') {
      const out: Record<string, unknown> = {};
      for (const [k, v] of Object.entries(value)) out[k] = walk(v, [...path, k]);
      return out;
    }
    return value;
  };
  return walk(src.data, []);
}

/** The field paths of every `${env:...}` reference in a value (a definition sent as JSON). */
export function envReferencePaths(value: unknown, path: PropertyKey[] = []): string[] {
  if (typeof value === 'string') return value.match(ENV_REF) ? [formatPath(path)] : [];
  if (Array.isArray(value)) return value.flatMap((v, i) => envReferencePaths(v, [...path, i]));
  if (value && typeof value === 'object') return Object.entries(value).flatMap(([k, v]) => envReferencePaths(v, [...path, k]));
  return [];
}
