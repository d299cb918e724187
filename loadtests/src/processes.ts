import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, writeFileSync, existsSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { spawnReady } from '@turnpike/testing';

/** The repository root, found upwards from this file (which may run bundled from .tmp/). */
export const ROOT = findRoot(dirname(fileURLToPath(import.meta.url)));

function findRoot(from: string): string {
  for (let dir = from; ; dir = dirname(dir)) {
    const pkg = join(dir, 'package.json');
    if (existsSync(pkg) && JSON.parse(readFileSync(pkg, 'utf8')).name === 'turnpike') return dir;
    if (dirname(dir) === dir) throw new Error(`no turnpike package.json above ${from}`);
  }
}
export const TURNPIKE = join(ROOT, 'bin/turnpike.mjs');

export interface Running {
  readonly proc: ChildProcess;
  readonly info: Record<string, unknown>;
  /** Everything the process printed so far (edges run with LOG_LEVEL=warn: their warnings). */
  output?(): string;
  stop(): Promise<void>;
}

/** Spawns a process and resolves when it prints a JSON line with `"event": readyEvent`. */
export async function start(cmd: string, args: string[], opts: { readyEvent?: string; env?: Record<string, string> } = {}): Promise<Running> {
  const { proc, info, output } = await spawnReady(cmd, args, { cwd: ROOT, ...opts });
  return { proc, info, output, stop: () => stopProcess(proc) };
}

export function stopProcess(proc: ChildProcess, signal: NodeJS.Signals = 'SIGTERM'): Promise<void> {
  if (proc.exitCode !== null || proc.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    const t = setTimeout(() => proc.kill('SIGKILL'), 10_000);
    proc.once('exit', () => {
      clearTimeout(t);
      resolve();
    });
    proc.kill(signal);
  });
}

export function startUpstream(): Promise<Running> {
  return start(process.execPath, [join(ROOT, 'loadtests/servers/uwsUpstream.mjs'), '0']);
}

/**
 * A turnpike edge for `yaml`, on a free port; `nodeArgs` e.g. ['--cpu-prof']. `bin` runs another
 * build (BENCH_BASELINE: the same suite's before and after side by side).
 */
export function startEdge(yaml: string, nodeArgs: string[] = [], extraArgs: string[] = [], bin = TURNPIKE): Promise<Running> {
  const dir = mkdtempSync(join(tmpdir(), 'tp-bench-'));
  const file = join(dir, 'turnpike.yaml');
  writeFileSync(file, yaml);
  return start(process.execPath, [...nodeArgs, bin, 'edge', '--config', file, '--port', '0', '--management-port=-1', '--key-prefix', `bench-${process.pid}`, ...extraArgs], {
    env: { LOG_LEVEL: 'warn' },
  });
}

/** nginx as a reverse proxy with one worker and upstream keep-alive, or null (with a reason) when absent. */
export async function startNginx(upstreamPort: number): Promise<Running | string> {
  const bin = ['/usr/sbin/nginx', '/usr/bin/nginx'].find((p) => existsSync(p)) ?? (spawnSync('which', ['nginx']).stdout?.toString().trim() || '');
  if (!bin) return 'nginx is not installed (apt-get install nginx-light): the nginx column is skipped';
  const dir = mkdtempSync(join(tmpdir(), 'tp-nginx-'));
  const { freePort } = await import('@turnpike/testing');
  const port = await freePort();
  writeFileSync(
    join(dir, 'nginx.conf'),
    `worker_processes 1;
daemon off;
pid ${dir}/nginx.pid;
error_log ${dir}/error.log warn;
events { worker_connections 4096; }
http {
  access_log off;
  client_body_temp_path ${dir}/body; proxy_temp_path ${dir}/proxy; fastcgi_temp_path ${dir}/fcgi; uwsgi_temp_path ${dir}/uwsgi; scgi_temp_path ${dir}/scgi;
  upstream backend { server 127.0.0.1:${upstreamPort}; keepalive 128; }
  server {
    listen 127.0.0.1:${port} reuseport;
    keepalive_requests 1000000;
    location / {
      proxy_pass http://backend;
      proxy_http_version 1.1;
      proxy_set_header Connection "";
      proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;
    }
  }
}
`,
  );
  const proc = spawn(bin, ['-p', dir, '-c', join(dir, 'nginx.conf')], { stdio: 'ignore' });
  await waitForPort(port);
  return { proc, info: { port }, stop: () => stopProcess(proc, 'SIGQUIT') };
}

export async function waitForPort(port: number, timeoutMs = 10_000): Promise<void> {
  const { connect } = await import('node:net');
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const ok = await new Promise<boolean>((resolve) => {
      const s = connect(port, '127.0.0.1');
      s.once('connect', () => (s.destroy(), resolve(true)));
      s.once('error', () => resolve(false));
    });
    if (ok) return;
    if (Date.now() > deadline) throw new Error(`nothing listens on ${port}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}
