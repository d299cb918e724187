// Builds the web console (console/src) into dist/console: one JS and one CSS bundle with content
// hashes in their names (served immutable), and index.html naming them (served no-cache).
import { build } from 'esbuild';
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { basename } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
const out = `${root}dist/console`;

/** Builds the console; resolves the files written (relative to the repository). */
export async function buildConsole() {
rmSync(out, { recursive: true, force: true });
mkdirSync(`${out}/assets`, { recursive: true });

const result = await build({
  absWorkingDir: root,
  entryPoints: { console: 'console/src/main.ts' },
  bundle: true,
  minify: true,
  format: 'esm',
  target: 'es2022',
  outdir: `${out}/assets`,
  entryNames: '[name]-[hash]',
  metafile: true,
  legalComments: 'linked',
  logLevel: 'warning',
});
const files = Object.keys(result.metafile.outputs).map((f) => basename(f));
const js = files.find((f) => f.endsWith('.js'));
const css = files.find((f) => f.endsWith('.css'));
if (!js || !css) throw new Error(`console build: expected a .js and a .css bundle, got ${files.join(', ')}`);
const html = readFileSync(`${root}console/index.html`, 'utf8').replace('{{js}}', js).replace('{{css}}', css);
writeFileSync(`${out}/index.html`, html);
return ['index.html', `assets/${js}`, `assets/${css}`].map((f) => `services/control/dist/console/${f}`);
}

if (process.argv[1] === fileURLToPath(import.meta.url)) console.log(`built ${(await buildConsole()).join(', ')}`);
