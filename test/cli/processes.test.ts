import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { fileURLToPath } from 'node:url';
import { Redis } from 'ioredis';
import { afterAll, describe, expect, it } from 'vitest';
import { SHARED_REDIS_URL, TURNPIKE_BIN, freePort, spawnTurnpike, testPrefix, type TurnpikeProcess } from '@turnpike/testing';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const EXAMPLE = `${ROOT}examples/turnpike.yaml`;
const started: TurnpikeProcess[] = [];

afterAll(async () => {
  await Promise.all(started.map((p) => p.stop('SIGKILL')));
});

/** Runs `turnpike edge` to its exit and returns the exit code and stderr. */
function edgeExit(args: string[]): Promise<{ code: number | null; stderr: string }> {
  return new Promise((resolve) => {
    const p = spawn(process.execPath, [TURNPIKE_BIN, 'edge', '--config', EXAMPLE, '--management-port=-1', ...args], { stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    p.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
    p.once('exit', (code) => resolve({ code, stderr }));
  });
}

describe('ports', () => {
  it('refuses a port held by another process, naming it and the errno, and exits 1', async () => {
    const holder: Server = createServer();
    await new Promise<void>((r) => holder.listen(0, '127.0.0.1', r));
    const port = (holder.address() as { port: number }).port;
    try {
      const { code, stderr } = await edgeExit(['--port', String(port), '--key-prefix', testPrefix('clash')]);
      expect(code).toBe(1);
      expect(stderr).toContain(`port ${port} is in use (EADDRINUSE) by another process`);
      expect(stderr).not.toMatch(/\n\s+at /); // a message, not a stack trace
    } finally {
      holder.close();
    }
  });

  it('lets edges of one port group share a port and refuses everyone else', async () => {
    const port = await freePort();
    const prefix = testPrefix('group');
    const common = ['edge', '--config', EXAMPLE, '--port', String(port), '--management-port=-1', '--key-prefix', prefix];
    const a = await spawnTurnpike([...common, '--port-group', 'blue']);
    started.push(a);
    const b = await spawnTurnpike([...common, '--port-group', 'blue']);
    started.push(b);
    expect([a.info.port, b.info.port]).toEqual([port, port]);

    const stranger = await edgeExit(['--port', String(port), '--key-prefix', prefix, '--port-group', 'green']);
    expect(stranger.code).toBe(1);
    expect(stranger.stderr).toContain(`port ${port} is in use (EADDRINUSE) by another Turnpike gateway (port group "blue")`);
    const ungrouped = await edgeExit(['--port', String(port), '--key-prefix', prefix]);
    expect(ungrouped.code).toBe(1);
    expect(ungrouped.stderr).toContain('started with the same --port-group');
  });
});

describe('the demo (npm start)', () => {
  /** Starts scripts/start.mjs on free ports and resolves with its ready line and everything it printed. */
  async function startDemo(): Promise<{ proc: ChildProcess; ready: Record<string, unknown>; printed: () => string }> {
    const proc = spawn(process.execPath, [`${ROOT}scripts/start.mjs`], {
      cwd: ROOT,
      env: { ...process.env, PORT: '0', MANAGEMENT_PORT: '0', TURNPIKE_DEMO_EVENTS: '1', REDIS_URL: SHARED_REDIS_URL },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    proc.stdout!.on('data', (d: Buffer) => (out += d.toString()));
    proc.stderr!.on('data', (d: Buffer) => (out += d.toString()));
    const ready = await new Promise<Record<string, unknown>>((resolve, reject) => {
      const check = () => {
        const line = out.split('\n').find((l) => l.startsWith('{"event":"demo-ready"'));
        if (line) resolve(JSON.parse(line) as Record<string, unknown>);
      };
      proc.stdout!.on('data', check);
      proc.once('exit', (code) => reject(new Error(`demo exited (${code}) before it was ready:\n${out}`)));
    });
    return { proc, ready, printed: () => out };
  }

  /** Every process below `pid`, from /proc. */
  function descendants(pid: number): number[] {
    const parents = new Map<number, number>();
    for (const entry of readdirSync('/proc')) {
      if (!/^\d+$/.test(entry)) continue;
      try {
        const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
        parents.set(Number(entry), Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]));
      } catch {
        /* gone meanwhile */
      }
    }
    const out: number[] = [];
    const walk = (p: number) => {
      for (const [child, parent] of parents) {
        if (parent !== p) continue;
        out.push(child);
        walk(child);
      }
    };
    walk(pid);
    return out;
  }

  const alive = (pid: number) => {
    try {
      process.kill(pid, 0);
      return true;
    } catch {
      return false;
    }
  };

  async function redisKeys(pattern: string): Promise<string[]> {
    const redis = new Redis(SHARED_REDIS_URL);
    try {
      return await redis.keys(pattern);
    } finally {
      redis.disconnect();
    }
  }

  it.each(['SIGTERM', 'SIGINT'] as const)('every printed curl line answers as it says; %s stops everything, drains and cleans up', async (signal) => {
    const demo = await startDemo();
    const children = descendants(demo.proc.pid!);
    expect(children.length).toBeGreaterThanOrEqual(4); // upstream, worker (+ function hosts), edge

    if (signal === 'SIGTERM') {
      // What each printed line promises, by the line's request; a line the demo adds must be listed here.
      const expected: [RegExp, number][] = [
        [/-X POST \S+\/petstore\/prod\/pets -H 'x-api-key/, 200],
        [/-X POST \S+\/petstore\/prod\/pets -H 'content-type/, 403],
        [/-X OPTIONS /, 204],
        [/-X DELETE /, 403],
        [/\/nowhere/, 403],
        [/./, 200],
      ];
      const lines = demo.printed().split('\n').map((l) => l.trim()).filter((l) => l.startsWith('curl -i '));
      expect(lines.length).toBeGreaterThanOrEqual(10);
      for (const line of lines) {
        const command = line.replace(/\s+#.*$/, '').replace(/^curl -i /, "curl -s -o /dev/null -w '%{http_code}' ");
        const status = Number(spawnSync('sh', ['-c', command], { encoding: 'utf8' }).stdout);
        const want = expected.find(([re]) => re.test(line))![1];
        expect({ line, status }).toEqual({ line, status: want });
      }
      // The throttled route's line: eight calls at once, past its burst of five.
      const burst = demo.printed().split('\n').map((l) => l.trim()).find((l) => l.startsWith('for i in '));
      const codes = spawnSync('sh', ['-c', burst!], { encoding: 'utf8' }).stdout.trim().split(/\s+/);
      expect(codes).toHaveLength(8);
      expect(codes.filter((c) => c !== '200' && c !== '429')).toEqual([]);
      expect(codes).toContain('429');
    }

    const exited = new Promise<number | null>((resolve) => demo.proc.once('exit', (code) => resolve(code)));
    demo.proc.kill(signal);
    expect(await exited).toBe(0);
    expect(children.filter(alive)).toEqual([]);
    expect(demo.printed()).toMatch(/edge stopped \(exit 0\)[\s\S]*worker stopped \(exit 0\)[\s\S]*upstream stopped \(exit 0\)[\s\S]*demo stopped/);
    expect(await redisKeys(`${demo.ready.keyPrefix as string}*`)).toEqual([]);
  }, 90_000);
});
