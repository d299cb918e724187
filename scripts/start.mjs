#!/usr/bin/env node
// `npm start`: the demo. Installs and builds what is missing, finds or starts Redis, starts the example
// upstream, a function worker and an edge node serving examples/turnpike.yaml, and prints what to try.
// Ctrl-C stops everything it started.
import { spawn, execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync } from 'node:fs';
import { connect, createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
// Run by `npm start` (scripts/setup.mjs exec), which installs, builds and picks the runtime first.

const children = [];
let stopping = false;
function stopAll(code = 0) {
  if (stopping) return;
  stopping = true;
  for (const c of children.reverse()) if (c.exitCode === null) c.kill('SIGTERM');
  setTimeout(() => process.exit(code), 300).unref();
  Promise.all(children.map((c) => (c.exitCode === null ? new Promise((r) => c.once('exit', r)) : null))).then(() => process.exit(code));
}
process.on('SIGINT', () => stopAll(0));
process.on('SIGTERM', () => stopAll(0));

/** Resolves true if something answers PING at host:port (speaking RESP by hand: nothing is loaded yet). */
function redisAnswers(host, port) {
  return new Promise((resolve) => {
    const s = connect(port, host);
    const done = (ok) => {
      s.destroy();
      resolve(ok);
    };
    s.setTimeout(500, () => done(false));
    s.once('error', () => done(false));
    s.once('connect', () => s.write('*1\r\n$4\r\nPING\r\n'));
    s.once('data', (d) => done(d.toString().startsWith('+PONG')));
  });
}

function freePort() {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
  });
}

function onPath(cmd) {
  try {
    execFileSync('sh', ['-c', `command -v ${cmd}`], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

/** Starts a child and resolves with its first JSON line whose event is `readyEvent`. */
function startChild(name, cmd, args, readyEvent, env = {}) {
  const child = spawn(cmd, args, { cwd: root, env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'inherit'] });
  children.push(child);
  return new Promise((resolve, reject) => {
    let buf = '';
    let ready = false;
    child.stdout.on('data', (d) => {
      buf += d.toString();
      let nl;
      while ((nl = buf.indexOf('\n')) >= 0) {
        const line = buf.slice(0, nl);
        buf = buf.slice(nl + 1);
        let info = null;
        try {
          info = line.startsWith('{') ? JSON.parse(line) : null;
        } catch {
          /* a plain line */
        }
        if (!ready && info?.event === readyEvent) {
          ready = true;
          resolve(info);
        } else if (!(info && info.event) && line.trim()) {
          process.stdout.write(`[${name}] ${line}\n`);
        }
      }
    });
    child.once('exit', (code) => {
      if (!ready) reject(new Error(`${name} exited (${code}) before it was ready`));
      else if (!stopping) {
        console.error(`${name} exited (${code}); stopping the demo`);
        stopAll(1);
      }
    });
  });
}

async function redisUrl() {
  if (process.env.REDIS_URL) return process.env.REDIS_URL;
  if (await redisAnswers('127.0.0.1', 6379)) return 'redis://127.0.0.1:6379';
  if (!onPath('redis-server')) {
    console.error(
      'turnpike: no Redis answers on 127.0.0.1:6379 and redis-server is not installed.\n' +
        'Install Redis 7 (Debian/Ubuntu: `sudo apt-get install redis-server`; macOS: `brew install redis`),\n' +
        'or point REDIS_URL at a running Redis (REDIS_URL=redis://host:6379 npm start).',
    );
    process.exit(1);
  }
  const port = await freePort();
  const dir = mkdtempSync(join(tmpdir(), 'turnpike-redis-'));
  const child = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--dir', dir], { stdio: 'ignore' });
  children.push(child);
  for (let i = 0; i < 50 && !(await redisAnswers('127.0.0.1', port)); i++) await new Promise((r) => setTimeout(r, 100));
  console.log(`turnpike: started a private redis-server on 127.0.0.1:${port} (nothing answered on 6379)`);
  return `redis://127.0.0.1:${port}`;
}

try {
  const redis = await redisUrl();
  const upstream = await startChild('upstream', process.execPath, [join(root, 'examples/upstream.mjs'), '0'], 'listening');
  const env = { REDIS_URL: redis, DEMO_UPSTREAM: `http://127.0.0.1:${upstream.port}` };
  const config = join(root, 'examples/turnpike.yaml');
  const bin = join(root, 'bin/turnpike.mjs');
  const port = process.env.PORT ?? '8080';
  let worker = null;
  if (existsSync(join(root, 'examples/functions'))) {
    worker = await startChild('worker', process.execPath, [bin, 'worker', '--config', config, '--functions', join(root, 'examples/functions'), '--redis', redis], 'ready', env);
  }
  const edge = await startChild('edge', process.execPath, [bin, 'edge', '--config', config, '--port', port, '--redis', redis], 'listening', env);
  const base = `http://127.0.0.1:${edge.port}`;
  console.log(`
Turnpike is running.
  edge:        ${base}
  management:  http://127.0.0.1:${edge.managementPort}/healthz  /readyz  /metrics
  upstream:    http://127.0.0.1:${upstream.port} (the example pet store)${worker ? '\n  worker:      running the functions in examples/functions' : ''}
  redis:       ${redis}

Try:
  curl -i ${base}/health
  curl -i ${base}/petstore/prod/pets?type=dog
  curl -i ${base}/petstore/prod/pets/2
  curl -i -X POST ${base}/petstore/prod/pets -H 'content-type: application/json' -d '{"type":"cat","price":9.5}'
  curl -i ${base}/echo/anything?x=1
  curl -i ${base}/hello              # a Lambda-style function (examples/functions/hello.mjs) on the worker;
                                     # throttled at 5 req/s: the sixth quick call answers 429
  curl -i -X OPTIONS ${base}/hello -H 'Origin: http://localhost:3000' -H 'Access-Control-Request-Method: GET'   # CORS preflight
  curl -i -X POST ${base}/echo-fn -d 'hi'   # the payload 2.0 event the function received
  curl -i ${base}/nowhere            # 404 as JSON
  curl -i -X DELETE ${base}/health   # 405 with Allow

WebSocket: connect to ws://127.0.0.1:${edge.port}/chat/live and send {"action":"ping"} (mock: pong) or any
other text (the echo function answers with the event it received).

Ctrl-C stops everything.`);
} catch (err) {
  console.error(`turnpike: ${err.message}`);
  stopAll(1);
}
