import { readFileSync } from 'node:fs';
import { LineCounter, parseDocument, isNode, type Document } from 'yaml';
import type { z } from 'zod';
import { ConfigError, formatPath, type ConfigIssue } from './errors.js';

/** A YAML/JSON document with what is needed to point an error at a line. */
export interface SourceDoc {
  file: string;
  doc: Document;
  lines: LineCounter;
  data: unknown;
  /** For a converted document (Swagger 2.0): where a path of `data` is in the original text. */
  locate?: (path: readonly PropertyKey[]) => PropertyKey[];
  /** What the document was written as, for messages ("Swagger 2.0"); absent for the native format. */
  format?: string;
}

export function readSource(file: string): SourceDoc {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    throw new ConfigError([{ file, path: '', message: `cannot read: ${(err as NodeJS.ErrnoException).code ?? String(err)}` }]);
  }
  return parseSource(file, text);
}

export function parseSource(file: string, text: string): SourceDoc {
  const lines = new LineCounter();
  const doc = parseDocument(text, { lineCounter: lines, prettyErrors: true, uniqueKeys: true });
  if (doc.errors.length > 0) {
    throw new ConfigError(
      doc.errors.map((e) => ({ file, path: '', line: e.linePos?.[0]?.line, message: `YAML: ${e.message.split('\n')[0]}` })),
    );
  }
  return { file, doc, lines, data: doc.toJS({ maxAliasCount: 100 }) };
}

/** The line of the deepest node that exists along `path`. */
export function lineOf(src: SourceDoc, converted: ReadonlyArray<PropertyKey>): number | undefined {
  const path = src.locate ? src.locate(converted) : converted;
  for (let n = path.length; n >= 0; n--) {
    const node = src.doc.getIn(path.slice(0, n) as unknown[], true);
    if (isNode(node) && node.range) return src.lines.linePos(node.range[0]).line;
  }
  return undefined;
}

export function zodIssues(src: SourceDoc, error: z.ZodError, prefix: ReadonlyArray<PropertyKey> = []): ConfigIssue[] {
  return error.issues.map((i) => {
    const path = [...prefix, ...(i.path as PropertyKey[])];
    return { file: src.file, path: sourcePath(src, path), line: lineOf(src, path), message: i.message };
  });
}

/** A path of `src.data` as the user wrote it (the original document's path for a converted one), dotted. */
export function sourcePath(src: SourceDoc, path: ReadonlyArray<PropertyKey>): string {
  return formatPath(src.locate ? src.locate(path) : path);
}
