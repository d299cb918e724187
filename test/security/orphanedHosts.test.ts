import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import { loadConfig } from '@turnpike/config';
import { Edge } from '@turnpike/edge';
import { SHARED_REDIS_URL, deletePrefix, spawnTurnpike, testPrefix, type TurnpikeProcess } from '@turnpike/testing';
import { eventually } from '../../services/worker/test/helpers.js';

/**
 * Threat: a worker process is SIGKILLed (or OOM-killed) while one of its functions spins in a loop. The
 * worker cleans nothing up, the spinning host never runs its IPC `disconnect` listener (its event loop is
 * blocked), and it is re-parented to PID 1 and burns a core forever.
 * Expected: every host process of the worker, the spinning one included, is gone within seconds.
 */
const prefix = testPrefix('orphans');
const dir = mkdtempSync(join(tmpdir(), 'tp-orphans-'));
const pidDir = join(dir, 'spinning');
mkdirSync(pidDir);
const configFile = join(dir, 'turnpike.yaml');
const FIXTURES = new URL('./fixtures/', import.meta.url).pathname;
writeFileSync(
  configFile,
  `
functions:
  spins: { handler: ${FIXTURES}spinsMarked.handler, timeoutMs: 120000, environment: { PID_DIR: ${pidDir} } }
apis:
  - name: orphans
    routes:
      POST /spin: { integration: { type: function, function: spins, invocationType: Event } }
`,
);

let worker: TurnpikeProcess;
let edge: Edge;

beforeAll(async () => {
  worker = await spawnTurnpike(['worker', '--config', configFile, '--redis', SHARED_REDIS_URL, '--key-prefix', prefix, '--concurrency', '2'], { readyEvent: 'ready', timeoutMs: 30_000 });
  edge = await new Edge({ config: loadConfig(configFile), port: 0, host: '127.0.0.1', managementPort: -1, redisUrl: SHARED_REDIS_URL, keyPrefix: prefix, logger: pino({ level: 'silent' }) }).start();
});

afterAll(async () => {
  await edge?.stop(1000);
  await worker?.stop('SIGKILL');
  // A failing run must not leave spinning orphans behind on the machine.
  for (const pid of readdirSync(pidDir).map(Number)) if (alive(pid)) process.kill(pid, 'SIGKILL');
  await deletePrefix(SHARED_REDIS_URL, prefix);
  rmSync(dir, { recursive: true, force: true });
});

/** A process's state letter from /proc, or null once it is gone. */
function state(pid: number): string | null {
  try {
    // "pid (comm) S ppid ...": comm may hold spaces and parentheses, so read after the last ')'.
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2).split(' ')[0] ?? null;
  } catch {
    return null;
  }
}

/** Alive: present and not a zombie (a killed orphan waiting for a PID 1 that does not reap is dead). */
const alive = (pid: number) => {
  const s = state(pid);
  return s !== null && s !== 'Z' && s !== 'X';
};

function childrenOf(ppid: number): number[] {
  const out: number[] = [];
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    try {
      const stat = readFileSync(`/proc/${name}/stat`, 'utf8');
      if (Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]) === ppid) out.push(Number(name));
    } catch {
      /* exited while we looked */
    }
  }
  return out;
}

// Linux only: it reads /proc to find the worker's host processes.
describe.skipIf(process.platform !== 'linux')('function hosts die with their worker', () => {
  it('kills a host spinning in a loop when its worker is SIGKILLed', async () => {
    // Both of the worker's hosts end up spinning.
    for (let i = 0; i < 2; i++) expect((await fetch(`http://127.0.0.1:${edge.port}/spin`, { method: 'POST', body: '{}' })).status).toBe(202);
    // Polled: no event announces that another process has written a file or ended.
    await eventually(() => (readdirSync(pidDir).length === 2 ? true : undefined), 'two handlers to start spinning', 20_000);
    const spinning = readdirSync(pidDir).map(Number);
    const hosts = childrenOf(worker.proc.pid!);
    expect(hosts.sort()).toEqual(spinning.sort());
    for (const pid of spinning) expect(state(pid)).toBe('R');

    await worker.stop('SIGKILL');
    const killed = Date.now();
    await eventually(() => (hosts.some(alive) ? undefined : true), `hosts ${hosts.join(', ')} to exit`, 5000);
    const tookMs = Date.now() - killed;
    expect(hosts.filter(alive)).toEqual([]);
    console.log(`${hosts.length} hosts gone ${tookMs} ms after their worker was SIGKILLed`);
  });
});
