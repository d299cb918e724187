import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { parse } from 'yaml';
import { startControlPlane, type ControlPlane } from './fixtures.js';

let cp: ControlPlane;
beforeAll(async () => {
  cp = await startControlPlane('openapi');
});
afterAll(async () => {
  await cp?.close();
});

it('documents exactly the endpoints the admin API serves, each with its scope area', () => {
  const doc = parse(readFileSync(fileURLToPath(new URL('../openapi.yaml', import.meta.url)), 'utf8')) as { paths: Record<string, Record<string, { 'x-turnpike-scope-area'?: string }>> };
  const documented = Object.entries(doc.paths).flatMap(([path, ops]) =>
    Object.entries(ops)
      .filter(([m]) => m !== 'parameters')
      .map(([m, op]) => `${m.toUpperCase()} ${path} ${op['x-turnpike-scope-area']}`),
  );
  const served = cp.server.router.endpoints.map((e) => `${e.method} ${e.template} ${e.area}`);
  expect(documented.sort()).toEqual(served.sort());
});
