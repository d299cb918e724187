import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { freePort } from './net.js';

/** The Redis every machine runs; tests only ever touch keys under their own prefix there. */
export const SHARED_REDIS_URL = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';

/** A key prefix unique to this test run, so runs never see each other's keys. */
export function testPrefix(name = 'test'): string {
  return `tptest-${name}-${process.pid}-${randomBytes(4).toString('hex')}`;
}

/** Deletes every key under `prefix` (SCAN + UNLINK, never FLUSH*). */
export async function deletePrefix(url: string, prefix: string): Promise<void> {
  const r = new Redis(url, { lazyConnect: true, maxRetriesPerRequest: 1 });
  try {
    await r.connect();
    let cursor = '0';
    do {
      const [next, keys] = await r.scan(cursor, 'MATCH', `${prefix}*`, 'COUNT', 1000);
      cursor = next;
      if (keys.length) await r.unlink(...keys);
    } while (cursor !== '0');
  } finally {
    r.disconnect();
  }
}

/** A private redis-server on a free port, for tests that stop, restart or fill it. */
export class RedisServer {
  private proc: ChildProcess | null = null;
  private readonly dir = mkdtempSync(join(tmpdir(), 'tp-redis-'));
  constructor(readonly port: number) {}

  /** `configFile` first, as redis-server wants it (a sentinel's, which the sentinel rewrites). */
  static async start(extraArgs: string[] = [], configFile?: string): Promise<RedisServer> {
    const s = new RedisServer(await freePort());
    await s.start(extraArgs, configFile);
    return s;
  }

  get url(): string {
    return `redis://127.0.0.1:${this.port}`;
  }

  async start(extraArgs: string[] = [], configFile?: string): Promise<void> {
    const proc = spawn('redis-server', [...(configFile ? [configFile] : []), '--port', String(this.port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--dir', this.dir, ...extraArgs], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    this.proc = proc;
    await new Promise<void>((resolve, reject) => {
      let out = '';
      const onData = (d: Buffer) => {
        out += d.toString();
        // A sentinel never prints the first: it is ready once it monitors its master.
        if (out.includes('Ready to accept connections') || out.includes('+monitor master')) {
          proc.stdout!.off('data', onData);
          resolve();
        }
      };
      proc.stdout!.on('data', onData);
      proc.once('exit', (code) => reject(new Error(`redis-server exited (${code}): ${out}`)));
    });
    proc.stdout!.resume();
  }

  /** Stops the server and waits for the process to be gone. */
  async stop(signal: NodeJS.Signals = 'SIGKILL'): Promise<void> {
    const p = this.proc;
    this.proc = null;
    if (!p || p.exitCode !== null) return;
    await new Promise<void>((resolve) => {
      p.once('exit', () => resolve());
      p.kill(signal);
    });
  }

  /** Freezes the server (SIGSTOP): connections stay open and nothing answers, like a hung or partitioned Redis. */
  pause(): void {
    this.proc?.kill('SIGSTOP');
  }

  /** Lets a paused server run again (SIGCONT); it answers what it was sent meanwhile. */
  resume(): void {
    this.proc?.kill('SIGCONT');
  }

  async destroy(): Promise<void> {
    await this.stop();
    rmSync(this.dir, { recursive: true, force: true });
  }
}
