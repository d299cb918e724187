import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { TURNPIKE_BIN } from '@turnpike/testing';

/**
 * What each command loads before it runs, read from the build (test/globalSetup.ts builds it): the
 * third-party packages in the static import closure of the command's chunk. Issue 21: `--help`,
 * `validate` and `keys` load no OpenTelemetry, uWebSockets.js or BullMQ, and the OpenTelemetry SDK is
 * loaded by `edge` only, on demand.
 */
const DIST = join(dirname(TURNPIKE_BIN), '../services/cli/dist');
const MAIN = join(DIST, 'turnpike.mjs');

const STATIC = /(?:^|\n)\s*(?:import|export)\s*(?:[^'"]*?\bfrom\s*)?["']([^"']+)["']/g;
const DYNAMIC = /\bimport\(\s*["']([^"']+)["']\s*\)/g;

const packageOf = (spec: string) => spec.split('/').slice(0, spec.startsWith('@') ? 2 : 1).join('/');

/** Third-party packages `file` and the chunks it imports statically load, and the chunks and packages it may import later. */
function closure(file: string): { packages: Set<string>; dynamic: Set<string>; dynamicPackages: Set<string> } {
  const packages = new Set<string>();
  const dynamic = new Set<string>();
  const dynamicPackages = new Set<string>();
  const seen = new Set<string>();
  const visit = (f: string) => {
    if (seen.has(f)) return;
    seen.add(f);
    const text = readFileSync(f, 'utf8');
    for (const [, spec] of text.matchAll(STATIC)) {
      if (spec === undefined) continue;
      if (spec.startsWith('.')) visit(join(dirname(f), spec));
      else if (!spec.startsWith('node:')) packages.add(packageOf(spec));
    }
    for (const [, spec] of text.matchAll(DYNAMIC)) {
      if (spec === undefined) continue;
      if (spec.startsWith('.')) dynamic.add(join(dirname(f), spec));
      else if (!spec.startsWith('node:')) dynamicPackages.add(packageOf(spec));
    }
  };
  visit(file);
  return { packages, dynamic, dynamicPackages };
}

/** Third-party packages `file` may load on demand: through its dynamic imports, and theirs, at any depth. */
function onDemand(file: string): Set<string> {
  const out = new Set<string>();
  const seen = new Set<string>();
  const queue = [file];
  for (let f = queue.pop(); f !== undefined; f = queue.pop()) {
    const c = closure(f);
    for (const p of c.dynamicPackages) out.add(p);
    for (const d of c.dynamic) {
      if (seen.has(d)) continue;
      seen.add(d);
      for (const p of closure(d).packages) out.add(p);
      queue.push(d);
    }
  }
  return out;
}

function commandChunk(name: string): string {
  const m = new RegExp(`\\bimport\\(\\s*["'](\\./chunks/${name}-[A-Z0-9]+\\.mjs)["']\\s*\\)`).exec(readFileSync(MAIN, 'utf8'));
  const chunk = m?.[1];
  if (chunk === undefined) throw new Error(`no chunk for the ${name} command in ${MAIN}`);
  return join(DIST, chunk);
}

describe('what each turnpike command loads', () => {
  it('--help loads no package at all', () => {
    expect([...closure(MAIN).packages]).toEqual([]);
  });

  it('validate loads the config parser only (no ajv, msgpackr, OpenTelemetry)', () => {
    expect([...closure(commandChunk('validate')).packages].sort()).toEqual(['yaml', 'zod']);
  });

  it('keys loads neither OpenTelemetry, uWebSockets.js nor BullMQ', () => {
    expect([...closure(commandChunk('keys')).packages].filter((p) => /^(@opentelemetry\/|uWebSockets\.js$|bullmq$)/.test(p))).toEqual([]);
  });

  it('edge loads the OpenTelemetry SDK only when it starts one', () => {
    const edge = closure(commandChunk('edge'));
    expect(edge.packages.has('uWebSockets.js')).toBe(true);
    expect(edge.packages.has('@opentelemetry/sdk-node')).toBe(false);
    expect(onDemand(commandChunk('edge')).has('@opentelemetry/sdk-node')).toBe(true);
  });
});
