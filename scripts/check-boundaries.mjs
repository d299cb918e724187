#!/usr/bin/env node
// Package boundaries (run by `npm run lint`): a file of one workspace package never imports another
// package's src/ (only its public entries, the `exports` of its package.json), and every package it
// imports, @turnpike/* or third-party, is declared in its own package.json. The repository's own tests
// (test/) and scripts count as one more package, the root.
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { builtinModules } from 'node:module';
import { dirname, join, relative, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The repository (or, for the script's own test, the folder given as the first argument). */
const ROOT = resolve(process.argv[2] ?? join(dirname(fileURLToPath(import.meta.url)), '..'));
const rootPkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8'));
const BUILTIN = new Set(builtinModules);

/** Every workspace package: its folder, name, declared dependencies and public entries. */
const packages = [];
for (const pattern of rootPkg.workspaces) {
  const dirs = pattern.endsWith('/*') ? readdirSync(join(ROOT, pattern.slice(0, -2)), { withFileTypes: true }).filter((d) => d.isDirectory()).map((d) => join(ROOT, pattern.slice(0, -2), d.name)) : [join(ROOT, pattern)];
  for (const dir of dirs) {
    const file = join(dir, 'package.json');
    if (!existsSync(file)) continue;
    packages.push(describe(dir, JSON.parse(readFileSync(file, 'utf8'))));
  }
}
const byName = new Map(packages.map((p) => [p.name, p]));
/** The root's tests and scripts may use any workspace package: the workspaces are the root's own. */
const rootPackage = { ...describe(ROOT, rootPkg), roots: ['test', 'scripts'] };
for (const name of byName.keys()) rootPackage.declared.add(name);

function describe(dir, pkg) {
  const declared = new Set([...Object.keys(pkg.dependencies ?? {}), ...Object.keys(pkg.devDependencies ?? {}), ...Object.keys(pkg.peerDependencies ?? {})]);
  return { dir, name: pkg.name, declared, exports: new Set(Object.keys(pkg.exports ?? {})), roots: ['src', 'test', 'bench'] };
}

const SOURCE = /\.(ts|mts|mjs|js)$/;
const IMPORT = /(?:^|[\s;])(?:import|export)\s[^'"`]*?from\s*['"]([^'"]+)['"]|(?:^|[^.\w])import\(\s*['"]([^'"]+)['"]\s*\)|^import\s+['"]([^'"]+)['"]/gm;

function* files(dir) {
  if (!existsSync(dir)) return;
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    if (e.name === 'node_modules' || e.name === 'dist' || e.name.startsWith('.')) continue;
    const p = join(dir, e.name);
    if (e.isDirectory()) yield* files(p);
    else if (SOURCE.test(e.name) && !e.name.endsWith('.d.ts')) yield p;
  }
}

/** The package whose folder holds `file` (the deepest one), or the root. */
function ownerOf(file) {
  let best = rootPackage;
  for (const p of packages) if (file.startsWith(p.dir + sep) && p.dir.length > best.dir.length) best = p;
  return best;
}

const problems = [];
for (const pkg of [...packages, rootPackage]) {
  for (const root of pkg.roots) {
    for (const file of files(join(pkg.dir, root))) {
      if (pkg === rootPackage && ownerOf(file) !== rootPackage) continue;
      const text = readFileSync(file, 'utf8');
      for (const m of text.matchAll(IMPORT)) {
        const spec = m[1] ?? m[2] ?? m[3];
        const where = `${relative(ROOT, file)}: "${spec}"`;
        if (spec.startsWith('.')) {
          const target = resolve(dirname(file), spec);
          const owner = ownerOf(target);
          if (owner !== pkg && owner !== rootPackage && target.startsWith(join(owner.dir, 'src') + sep)) problems.push(`${where} reaches into ${owner.name}'s src/; import ${owner.name} (its package.json exports) instead`);
          continue;
        }
        if (spec.startsWith('node:') || BUILTIN.has(spec)) continue;
        const parts = spec.split('/');
        const name = spec.startsWith('@') ? parts.slice(0, 2).join('/') : parts[0];
        const subpath = '.' + spec.slice(name.length);
        const target = byName.get(name);
        if (target && !target.exports.has(subpath)) problems.push(`${where}: ${name} does not export "${subpath}" (see its package.json exports)`);
        if (target === pkg) continue;
        if (!pkg.declared.has(name) && !pkg.declared.has(`@types/${name.replace('@', '').replace('/', '__')}`)) problems.push(`${where}: ${name} is not declared in ${relative(ROOT, join(pkg.dir, 'package.json'))}`);
      }
    }
  }
}

if (problems.length) {
  console.error(`package boundaries: ${problems.length} problem(s)\n${problems.map((p) => `  ${p}`).join('\n')}`);
  process.exit(1);
}
console.log(`package boundaries: ${packages.length} packages, no reach into another package's src/, every import declared`);
