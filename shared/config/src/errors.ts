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
  readonly issues: ConfigIssue[];
  constructor(issues: ConfigIssue[]) {
    // In reading order: by file, then line (issues without a line last, in the order found).
    const sorted = issues
      .map((issue, i) => ({ issue, i }))
      .sort((a, b) => a.issue.file.localeCompare(b.issue.file) || (a.issue.line ?? Infinity) - (b.issue.line ?? Infinity) || a.i - b.i)
      .map((x) => x.issue);
    super(sorted.map(formatIssue).join('\n'));
    this.issues = sorted;
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
