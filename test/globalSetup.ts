import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
// Tests spawn real `turnpike` processes (edges, workers); build the bundles first so they run this code.
// @ts-expect-error: plain ESM script without typings
import { buildAll } from '../scripts/build.mjs';

/**
 * Every temporary file of the run (test configs, access logs, private Redis directories, the files of
 * the processes tests spawn) goes under one directory, removed when the run ends, whether or not each
 * test cleaned up after itself: test processes and their children inherit TMPDIR.
 */
export default async function setup(): Promise<() => void> {
  await buildAll();
  const runDir = mkdtempSync(join(tmpdir(), 'turnpike-test-run-'));
  process.env.TMPDIR = runDir;
  return () => rmSync(runDir, { recursive: true, force: true });
}
