import type { ConfigIssue } from './errors.js';
import { formatPath } from './errors.js';
import { lineOf, type SourceDoc } from './source.js';

const ENV_REF = /\$\{env:([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}/g;

/**
 * Replaces `${env:NAME}` and `${env:NAME:-default}` in every string value, so one file serves several
 * environments (12-factor). A variable that is unset and has no default is a config error naming the field.
 * Only whole-file string values are touched; `${stageVariables.x}` and `${context.x}` are left for routes.
 */
export function substituteEnv(src: SourceDoc, env: NodeJS.ProcessEnv, issues: ConfigIssue[]): unknown {
  const walk = (value: unknown, path: PropertyKey[]): unknown => {
    if (typeof value === 'string') {
      if (value.indexOf('${env:') < 0) return value;
      return value.replace(ENV_REF, (_, name: string, dflt: string | undefined) => {
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
