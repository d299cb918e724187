// Bench-only preload for edge processes (`node --expose-gc --import heapProbe.mjs`): on SIGUSR2 it
// collects garbage and prints the heap as one JSON line, `{"event":"heap",...}`. RSS right after a
// connect storm still holds garbage V8 has not collected; the heap after a full GC is what each idle
// connection really keeps in JavaScript, and the committed new space what the storm's garbage made V8
// keep of its young generation.
import { getHeapSpaceStatistics } from 'node:v8';

process.on('SIGUSR2', () => {
  // Twice: the first collection can leave objects whose finalization frees more.
  globalThis.gc();
  globalThis.gc();
  const m = process.memoryUsage();
  const newSpace = getHeapSpaceStatistics().find((s) => s.space_name === 'new_space');
  const heap = { heapUsed: m.heapUsed, heapTotal: m.heapTotal, newSpace: newSpace?.space_size ?? 0, external: m.external, rss: m.rss };
  process.stdout.write(`${JSON.stringify({ event: 'heap', ...heap })}\n`);
});
