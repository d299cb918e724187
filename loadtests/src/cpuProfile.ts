import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  hitCount?: number;
}

/**
 * Summarizes V8 .cpuprofile files (node --cpu-prof) into self time per function: where an edge
 * process spends its CPU under load (shares of its busy time), without needing a profiler UI.
 */
export function topFunctions(dir: string, limit = 15): { fn: string; selfPct: number }[] {
  const counts = new Map<string, number>();
  let total = 0;
  for (const f of readdirSync(dir).filter((n) => n.endsWith('.cpuprofile'))) {
    const p = JSON.parse(readFileSync(join(dir, f), 'utf8')) as { nodes: ProfileNode[] };
    for (const n of p.nodes) {
      const hits = n.hitCount ?? 0;
      // Idle time is the process waiting while other targets are measured: not where its work goes.
      if (!hits || n.callFrame.functionName === '(idle)') continue;
      total += hits;
      const file = n.callFrame.url.split('/').slice(-2).join('/');
      const key = `${n.callFrame.functionName || '(anonymous)'} ${file ? `${file}:${n.callFrame.lineNumber + 1}` : ''}`.trim();
      counts.set(key, (counts.get(key) ?? 0) + hits);
    }
  }
  return [...counts.entries()]
    .sort((a, b) => b[1] - a[1])
    .slice(0, limit)
    .map(([fn, c]) => ({ fn, selfPct: Math.round((1000 * c) / total) / 10 }));
}
