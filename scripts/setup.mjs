#!/usr/bin/env node
// First step of `npm test`, `npm run bench` and `npm start`: on a fresh clone, install dependencies
// (only when node_modules is missing or older than the lock file), build the bundles and the runtime
// (scripts/runtime.mjs: Node.js 22 able to load uWebSockets.js v20.57 on this host).
//   node scripts/setup.mjs exec CMD [ARGS...]
// then runs CMD with the runtime's bin directory first on PATH, so `node` and `#!/usr/bin/env node`
// scripts (vitest, npm run ...) run on the runtime, and whatever they spawn with process.execPath too.
// It uses nothing outside Node's standard library, since it runs before anything is installed.
import { execFileSync, spawn } from 'node:child_process';
import { existsSync, statSync } from 'node:fs';
import { delimiter, dirname, join } from 'node:path';
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

const { ensureRuntime } = await import('./runtime.mjs');
let node;
try {
  node = ensureRuntime();
} catch (err) {
  console.error(`turnpike: ${err.message}`);
  process.exit(1);
}

const [mode, cmd, ...args] = process.argv.slice(2);
if (mode === 'exec' && cmd) {
  const env = { ...process.env, PATH: `${dirname(node)}${delimiter}${process.env.PATH ?? ''}` };
  const child = spawn(cmd, args, { stdio: 'inherit', env });
  for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP']) process.on(sig, () => child.kill(sig));
  child.once('error', (err) => {
    console.error(`turnpike: ${cmd}: ${err.message}`);
    process.exit(1);
  });
  child.once('exit', (code, signal) => process.exit(code ?? (signal ? 128 : 1)));
}
