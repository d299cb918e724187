import { describe, expect, it } from 'vitest';
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadConfig } from '@turnpike/config';
import { FunctionRegistryError, loadFunctions } from '@turnpike/worker';

function project(yaml: string, files: Record<string, string>): string {
  const dir = mkdtempSync(join(tmpdir(), 'tp-registry-'));
  for (const [name, text] of Object.entries(files)) {
    mkdirSync(join(dir, name, '..'), { recursive: true });
    writeFileSync(join(dir, name), text);
  }
  writeFileSync(join(dir, 'turnpike.yaml'), yaml);
  return dir;
}

const ROUTES = `apis:\n  - name: a\n    routes:\n      GET /x: { integration: { type: mock } }\n`;

describe('function registry', () => {
  it('resolves handlers next to the config file and registers a directory under file names', () => {
    const dir = project(`functions:\n  orders: { handler: ./src/orders.list, timeoutMs: 500, environment: { A: b } }\n${ROUTES}`, {
      'src/orders.mjs': 'export const list = async () => 1;',
      'fns/hello.mjs': 'export const handler = async () => 1;',
      'fns/legacy.cjs': 'exports.handler = () => 1;',
      'fns/orders.js': 'export const handler = async () => 2;',
      'fns/notes.txt': 'not a module',
    });
    const specs = loadFunctions(loadConfig(join(dir, 'turnpike.yaml')), join(dir, 'fns'));
    expect(specs.map((s) => s.name)).toEqual(['orders', 'hello', 'legacy']);
    expect(specs[0]).toMatchObject({ modulePath: join(dir, 'src/orders.mjs'), exportName: 'list', timeoutMs: 500, environment: { A: 'b' }, maxRetries: 2 });
    expect(specs[1]).toMatchObject({ modulePath: join(dir, 'fns/hello.mjs'), exportName: 'handler', timeoutMs: 3000, memoryMB: 128 });
  });

  it('names the file and field of a handler whose module is missing', () => {
    const dir = project(`functions:\n  orders: { handler: ./src/missing.handler }\n${ROUTES}`, {});
    expect(() => loadFunctions(loadConfig(join(dir, 'turnpike.yaml')))).toThrow(FunctionRegistryError);
    expect(() => loadFunctions(loadConfig(join(dir, 'turnpike.yaml')))).toThrow(/turnpike\.yaml: functions\.orders\.handler: no module \.\/src\/missing/);
  });

  it('refuses a directory module whose file name is not a function name', () => {
    const dir = project(ROUTES, { 'fns/bad name.mjs': 'export const handler = 1;' });
    expect(() => loadFunctions(loadConfig(join(dir, 'turnpike.yaml')), join(dir, 'fns'))).toThrow(/"bad name" is not a function name/);
    expect(() => loadFunctions(loadConfig(join(dir, 'turnpike.yaml')), join(dir, 'nope'))).toThrow(/--functions .*nope: not a directory/);
  });
});
