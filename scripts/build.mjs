#!/usr/bin/env node
// Bundles each service entry point with esbuild: workspace packages (@turnpike/*) are compiled in from
// their TypeScript sources, third-party packages stay external and load from node_modules.
// Type checking is `npm run lint` (tsc --noEmit); this only emits JavaScript, in well under a second.
import { build } from 'esbuild';
import { readFileSync, existsSync, rmSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { basename, dirname, join } from 'node:path';
import { buildConsole } from '../services/control/scripts/build-console.mjs';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8'));
const external = [...Object.keys(pkg.dependencies ?? {}), ...Object.keys(pkg.devDependencies ?? {})];

/**
 * [entry, output] pairs; an entry that does not exist yet is skipped. The CLI is split into chunks so
 * that each command's imports (uWebSockets.js, BullMQ, OpenTelemetry...) load only when that command
 * runs: a single-file bundle hoists every third-party import to its top, and `turnpike --help` paid for
 * all of them.
 */
export const ENTRIES = [
  ['services/cli/src/main.ts', 'services/cli/dist/turnpike.mjs'],
  ['services/worker/src/sandbox/functionHost.ts', 'services/worker/dist/functionHost.mjs'],
  ['loadtests/src/websocket/idleClients.ts', 'loadtests/dist/wsIdleClients.mjs'],
];

/** Outputs built with code splitting (lazily loaded commands). */
const SPLIT = new Set(['services/cli/dist/turnpike.mjs']);

export async function buildAll(extra = []) {
  const entries = [...ENTRIES, ...extra].filter(([e]) => existsSync(join(root, e)));
  // Chunk names carry content hashes: without this, every build would leave the previous chunks behind.
  for (const out of SPLIT) rmSync(join(root, dirname(out), 'chunks'), { recursive: true, force: true });
  // The web console (services/control/console): a browser bundle with hashed names, built beside these.
  const built = await Promise.all([
    buildConsole(),
    ...entries.map(([entry, out]) =>
      build({
        absWorkingDir: root,
        entryPoints: [entry],
        ...(SPLIT.has(out)
          ? { outdir: dirname(join(root, out)), entryNames: basename(out, '.mjs'), chunkNames: 'chunks/[name]-[hash]', splitting: true, outExtension: { '.js': '.mjs' } }
          : { outfile: out }),
        bundle: true,
        platform: 'node',
        format: 'esm',
        target: 'node20',
        conditions: ['source'],
        external,
        sourcemap: 'linked',
        logLevel: 'warning',
        // Bundled CommonJS dependencies of workspace code call require(); give ESM output one.
        banner: { js: "import { createRequire as __tpCreateRequire } from 'node:module'; const require = __tpCreateRequire(import.meta.url);" },
      }),
    ),
  ]);
  return [...entries.map(([, out]) => out), ...built[0]];
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const extra = process.argv.slice(2).map((e) => e.split('='));
  const outs = await buildAll(extra);
  if (!process.env.TP_QUIET) console.log(`built ${outs.join(', ')}`);
}
