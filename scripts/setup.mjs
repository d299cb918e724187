#!/usr/bin/env node
// First step of `npm test`, `npm run bench` and `npm start`: on a fresh clone, install dependencies
// (only when node_modules is missing or older than the lock file) and build the bundles.
// It uses nothing outside Node's standard library, since it runs before anything is installed.
import { execFileSync } from 'node:child_process';
import { existsSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const lock = join(root, 'package-lock.json');
const marker = join(root, 'node_modules', '.package-lock.json');
const npm = process.platform === 'win32' ? 'npm.cmd' : 'npm';

const major = Number(process.versions.node.split('.')[0]);
if (major < 20) {
  console.error(`Turnpike needs Node.js 20 or newer (this is ${process.version}).`);
  process.exit(1);
}

if (!existsSync(marker) || statSync(marker).mtimeMs < statSync(lock).mtimeMs) {
  console.log('turnpike: installing dependencies (npm ci)...');
  execFileSync(npm, ['ci', '--no-audit', '--no-fund'], { cwd: root, stdio: 'inherit' });
}
const { buildAll } = await import('./build.mjs');
await buildAll();
