// Bench-only preload for edge processes (`node --expose-gc --import heapProbe.mjs`): on SIGUSR2 it
// collects garbage and prints the heap as one JSON line, `{"event":"heap",...}`.
//
// The collection is V8's "last resort" one (repeated full GCs, then the young generation shrunk and
// the pages V8 pooled for reuse given back), which is what V8's memory reducer does by itself once a
// process goes quiet (13-16 s after a storm of 36,000 connections on 2 edges, 55-80 s after a million). Right after a connect storm an edge's RSS still holds the storm's
// young generation and pooled pages: 138-141 MB per edge with 18,000 connections, 100-101 MB once the
// reducer has run, unforced (`BENCH_WSS_RSS_SERIES`, loadtests/README.md); this probe gives the
// settled figure without the wait. A plain `gc()` frees the garbage but keeps those pages resident.
import { getHeapSpaceStatistics } from 'node:v8';

process.on('SIGUSR2', () => {
  globalThis.gc({ type: 'major', execution: 'sync', flavor: 'last-resort' });
  const m = process.memoryUsage();
  const newSpace = getHeapSpaceStatistics().find((s) => s.space_name === 'new_space');
  const heap = { heapUsed: m.heapUsed, heapTotal: m.heapTotal, newSpace: newSpace?.space_size ?? 0, external: m.external, rss: m.rss };
  process.stdout.write(`${JSON.stringify({ event: 'heap', ...heap })}\n`);
});
