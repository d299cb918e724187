
import { RouteTrie, normalizePath } from '@turnpike/edge/internals';
import type { RouteMethod } from '@turnpike/config';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { quantileOf } from '../harness.js';
import { ROOT } from '../processes.js';

/**
 * Micro-benchmarks of the per-request work that runs before any I/O: path normalization and route
 * matching over a 200-route API. Nanoseconds per operation, median of 5 runs.
 */
export function nsPerOp(fn: () => unknown, iterations = 500_000): number {
  const runs: number[] = [];
  for (let r = 0; r < 5; r++) {
    const t0 = process.hrtime.bigint();
    for (let i = 0; i < iterations; i++) fn();
    runs.push(Number(process.hrtime.bigint() - t0) / iterations);
  }
  return Math.round(quantileOf(runs.sort((a, b) => a - b), 0.5) * 10) / 10;
}

export async function run(): Promise<void> {
  const trie = new RouteTrie<string>();
  const methods: RouteMethod[] = ['GET', 'POST', 'PUT', 'DELETE'];
  for (let i = 0; i < 50; i++) for (const m of methods) trie.add(m, i % 2 ? `/resource${i}/{id}/sub${i}` : `/resource${i}/{id}`, `${m} ${i}`);
  trie.add('ANY', '/{proxy+}', 'fallback');

  const results = {
    'normalizePath plain /prod/resource42/123/sub42': nsPerOp(() => normalizePath('/prod/resource42/123/sub42')),
    'normalizePath encoded /prod/a%2Fb/./c/../d': nsPerOp(() => normalizePath('/prod/a%2Fb/./c/../d')),
    'route match literal+param (201 routes)': nsPerOp(() => trie.match('GET', ['prod', 'resource41', '123', 'sub41'], 1)),
    'route match greedy fallback': nsPerOp(() => trie.match('GET', ['prod', 'nothing', 'here'], 1)),
  };
  console.log('\n== micro (ns/op) ==');
  for (const [k, v] of Object.entries(results)) console.log(`${k.padEnd(52)} ${String(v).padStart(8)}`);
  mkdirSync(join(ROOT, 'loadtests/results'), { recursive: true });
  writeFileSync(join(ROOT, 'loadtests/results', `micro-${new Date().toISOString().replace(/[:.]/g, '-')}.json`), JSON.stringify(results, null, 2));
}
