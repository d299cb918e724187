import { readFileSync } from 'node:fs';
import { LineCounter, parseDocument, isNode, type Document } from 'yaml';
import type { z } from 'zod';
import { ConfigError, formatPath, type ConfigIssue } from './errors.js';
import { didYouMean, knownFields } from './suggest.js';

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
    throw new ConfigError([{ file, path: '', message: readProblem(file, err as NodeJS.ErrnoException) }]);
  }
  return parseSource(file, text);
}

export function parseSource(file: string, text: string): SourceDoc {
  const lines = new LineCounter();
  const doc = parseDocument(text, { lineCounter: lines, prettyErrors: true, uniqueKeys: true });
  if (doc.errors.length > 0) {
    const textLines = text.split('\n');
    throw new ConfigError(
      doc.errors.map((e) => {
        const at = e.linePos?.[0];
        // yaml's own message ends with "at line N, column M:" and its excerpt; the issue carries the
        // line, so the message keeps the column and shows the offending line with a caret under it.
        const what = e.message.replace(/\n[\s\S]*$/, '').replace(/ at line \d+, column \d+:?$/, '');
        const excerpt = at && textLines[at.line - 1] !== undefined ? `\n    ${at.line} | ${textLines[at.line - 1]}\n    ${' '.repeat(String(at.line).length)} | ${' '.repeat(Math.max(0, at.col - 1))}^` : '';
        return { file, path: '', line: at?.line, message: `YAML syntax: ${what}${at ? ` (column ${at.col})` : ''}${excerpt}` };
      }),
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

/** The line of the key `key` of the mapping at `path` (an unknown field is reported where it is written). */
function lineOfKey(src: SourceDoc, path: ReadonlyArray<PropertyKey>, key: string): number | undefined {
  const map = src.doc.getIn(path as unknown[], true) as { items?: { key?: { value?: unknown; range?: [number, number, number] } }[] } | undefined;
  const pair = map?.items?.find((p) => p.key?.value === key);
  return pair?.key?.range ? src.lines.linePos(pair.key.range[0]).line : lineOf(src, path);
}

function valueAt(data: unknown, path: ReadonlyArray<PropertyKey>): unknown {
  let v = data;
  for (const p of path) v = v !== null && typeof v === 'object' ? (v as Record<PropertyKey, unknown>)[p] : undefined;
  return v;
}

/**
 * Zod's issues as config issues. `schema` (what `error` came from) lets an unknown field be compared
 * with the known ones; `prefix` is where the validated value sits in the document.
 */
export function zodIssues(src: SourceDoc, error: z.ZodError, prefix: ReadonlyArray<PropertyKey> = [], schema?: z.ZodType): ConfigIssue[] {
  return error.issues.flatMap((i): ConfigIssue[] => {
    const path = [...prefix, ...(i.path as PropertyKey[])];
    if (i.code === 'unrecognized_keys') {
      const known = schema ? knownFields(schema, i.path as PropertyKey[]) : new Set<string>();
      return i.keys.map((key) => ({ file: src.file, path: sourcePath(src, [...path, key]), line: lineOfKey(src, path, key), message: `unknown field "${key}"${didYouMean(key, known)}` }));
    }
    const union = i as { code: string; discriminator?: string; options?: unknown[] };
    if (union.code === 'invalid_union' && union.discriminator && union.options) {
      const value = valueAt(src.data, path);
      const options = union.options.map(String);
      const shown = value === undefined ? `no ${union.discriminator} given` : `unknown ${union.discriminator} ${JSON.stringify(value)}`;
      return [{ file: src.file, path: sourcePath(src, path), line: lineOf(src, path), message: `${shown}; expected one of ${options.join(', ')}${typeof value === 'string' ? didYouMean(value, options) : ''}` }];
    }
    return [{ file: src.file, path: sourcePath(src, path), line: lineOf(src, path), message: i.message }];
  });
}

function readProblem(file: string, err: NodeJS.ErrnoException): string {
  switch (err.code) {
    case 'ENOENT':
      return `no such file: ${file}`;
    case 'EACCES':
    case 'EPERM':
      return `permission denied: ${file}`;
    case 'EISDIR':
      return `is a directory, not a file: ${file}`;
    default:
      return `cannot read ${file}: ${err.code ?? err.message}`;
  }
}

/** A path of `src.data` as the user wrote it (the original document's path for a converted one), dotted. */
export function sourcePath(src: SourceDoc, path: ReadonlyArray<PropertyKey>): string {
  return formatPath(src.locate ? src.locate(path) : path);
}
