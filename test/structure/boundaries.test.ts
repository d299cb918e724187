import { afterAll, describe, expect, it } from 'vitest';
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';

const SCRIPT = join(import.meta.dirname, '../../scripts/check-boundaries.mjs');
const dir = mkdtempSync(join(tmpdir(), 'tp-boundaries-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function write(path: string, text: string): void {
  mkdirSync(dirname(join(dir, path)), { recursive: true });
  writeFileSync(join(dir, path), text);
}

describe('the package-boundary lint (scripts/check-boundaries.mjs, part of npm run lint)', () => {
  it('passes on this repository', () => {
    expect(execFileSync(process.execPath, [SCRIPT], { encoding: 'utf8' })).toMatch(/no reach into another package's src\//);
  });

  it('fails on a reach into another package\'s src/, an undeclared package and an unexported subpath', () => {
    write('package.json', JSON.stringify({ name: 'turnpike', workspaces: ['pkgs/*'] }));
    write('pkgs/a/package.json', JSON.stringify({ name: '@t/a', exports: { '.': './src/index.ts' }, dependencies: { zod: '*' } }));
    write('pkgs/a/src/index.ts', "export const a = 1;\nimport { z } from 'zod';\n");
    write('pkgs/b/package.json', JSON.stringify({ name: '@t/b', exports: { '.': './src/index.ts' }, dependencies: { '@t/a': '*' } }));
    write('pkgs/b/src/index.ts', "import { a } from '../../a/src/index.js';\nimport { y } from 'yaml';\nimport { c } from '@t/a/src/deep.js';\nimport { ok } from '@t/a';\nimport { readFileSync } from 'node:fs';\n");
    const r = spawnSync(process.execPath, [SCRIPT, dir], { encoding: 'utf8' });
    expect(r.status).toBe(1);
    expect(r.stderr).toContain(`pkgs/b/src/index.ts: "../../a/src/index.js" reaches into @t/a's src/`);
    expect(r.stderr).toContain('"yaml": yaml is not declared in pkgs/b/package.json');
    expect(r.stderr).toContain('@t/a does not export "./src/deep.js"');
    expect(r.stderr).toMatch(/3 problem\(s\)/);
  });
});
