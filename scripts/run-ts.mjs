#!/usr/bin/env node
// Runs a TypeScript entry point (benchmarks, the demo) by bundling it like the services are bundled.
import { spawnSync } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { buildAll } from './build.mjs';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const [entry, ...args] = process.argv.slice(2);
if (!entry) {
  console.error('usage: run-ts.mjs FILE.ts [args...]');
  process.exit(2);
}
const abs = resolve(process.cwd(), entry);
mkdirSync(join(root, '.tmp'), { recursive: true });
const out = join(root, '.tmp', `${basename(abs, '.ts')}-${process.pid}.mjs`);
await buildAll([[abs.slice(root.length + 1), out.slice(root.length + 1)]]);
const r = spawnSync(process.execPath, [out, ...args], { stdio: 'inherit', cwd: root });
process.exit(r.status ?? 1);
