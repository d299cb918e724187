/** One problem found in a configuration file, located as precisely as the parser allows. */
export interface ConfigIssue {
  file: string;
  /** Field path inside the document, dotted (`apis[0].routes.GET /pets.integration.uri`). */
  path: string;
  line?: number;
  message: string;
}

/** Thrown for any invalid configuration; carries every issue found, not only the first. */
export class ConfigError extends Error {
  readonly code = 'TP_CONFIG_INVALID';
  constructor(readonly issues: ConfigIssue[]) {
    super(issues.map(formatIssue).join('\n'));
    this.name = 'ConfigError';
  }
}

export function formatIssue(i: ConfigIssue): string {
  return `${i.file}${i.line ? `:${i.line}` : ''}: ${i.path || '(root)'}: ${i.message}`;
}

export function formatPath(path: ReadonlyArray<PropertyKey>): string {
  let out = '';
  for (const p of path) {
    if (typeof p === 'number') out += `[${p}]`;
    else out += out ? `.${String(p)}` : String(p);
  }
  return out;
}
