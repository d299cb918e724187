#!/usr/bin/env node
// `npm start` (scripts/setup.mjs exec: installs and builds what is missing and picks the runtime) runs
// this demo: it finds or starts Redis, starts the example
// upstream, a function worker and an edge node serving examples/turnpike.yaml, creates an API key for
// the example's key-protected route, and prints what to try.
//
// Stopping: SIGINT (Ctrl-C), SIGTERM or SIGHUP, sent to this script or to `npm start`, stops the edge
// first (it drains in-flight requests), then the worker, the upstream and a private Redis, waits for
// each, prints what stopped, and removes the demo's state from Redis. If npm itself goes away without
// passing a signal on, the script notices that it was re-parented and stops the same way.
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { connect, createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
// Run by `npm start` (scripts/setup.mjs exec), which installs, builds and picks the runtime first.
const node = process.execPath;
const bin = join(root, 'bin/turnpike.mjs');
const config = join(root, 'examples/turnpike.yaml');
// One prefix per run: the demo's keys, plans, queues and registry never mix with another run's, and
// stopping removes exactly this run's state.
const keyPrefix = `turnpike-demo:${process.pid}`;

/** Children in start order; stopped in reverse (the edge first, so it drains while its upstreams serve). */
const children = [];
const cleanups = [];
let stopping = null;

function stopAll(reason, code = 0) {
  stopping ??= (async () => {
    console.log(`\nturnpike: stopping the demo (${reason})`);
    for (const c of [...children].reverse()) await stopChild(c);
    for (const fn of cleanups.reverse()) await fn().catch((err) => console.error(`turnpike: cleanup failed: ${err.message}`));
    console.log('turnpike: demo stopped');
    process.exit(code);
  })();
  return stopping;
}

/** SIGTERM, then wait: the edge drains for up to gateway.shutdownGraceMs (5 s in the example). */
async function stopChild({ name, proc }) {
  if (proc.exitCode === null && proc.signalCode === null) {
    const exited = new Promise((resolve) => proc.once('exit', (code, signal) => resolve({ code, signal })));
    proc.kill('SIGTERM');
    const killer = setTimeout(() => proc.kill('SIGKILL'), 15_000);
    const { code, signal } = await exited;
    clearTimeout(killer);
    console.log(`turnpike: ${name} stopped (${signal ? `signal ${signal}` : `exit ${code}`})`);
  }
}

for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP']) {
  process.on(signal, () => {
    if (stopping) return;
    void stopAll(signal);
  });
}
// npm can exit on a signal without passing it on; the children must not outlive the demo.
const parent = process.ppid;
setInterval(() => {
  if (process.ppid !== parent) void stopAll('parent process exited');
}, 500).unref();

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
  return spawnSync('sh', ['-c', `command -v ${cmd}`], { stdio: 'ignore' }).status === 0;
}

/** Starts a child and resolves with its first JSON line whose event is `readyEvent`. */
function startChild(name, args, readyEvent, env = {}) {
  const proc = spawn(node, args, { cwd: root, env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'inherit'] });
  children.push({ name, proc });
  return new Promise((resolve, reject) => {
    let buf = '';
    let ready = false;
    proc.stdout.on('data', (d) => {
      buf += d.toString();
      let nl;
      while ((nl = buf.indexOf('\n')) >= 0) {
        const line = buf.slice(0, nl);
        buf = buf.slice(nl + 1);
        const info = parseLine(line);
        if (!ready && info?.event === readyEvent) {
          ready = true;
          resolve(info);
        } else if (info === null && line.trim()) {
          process.stdout.write(`[${name}] ${line}\n`);
        } else if (info && !info.event && info.level >= 40) {
          // Process logs are JSON (pino): show warnings and errors as one readable line each.
          process.stdout.write(`[${name}] ${info.level >= 50 ? 'error' : 'warning'}: ${info.msg}${info.err?.message ? ` (${info.err.message})` : ''}\n`);
        }
      }
    });
    proc.once('exit', (code) => {
      if (!ready) reject(new Error(`${name} exited (${code}) before it was ready`));
      else if (!stopping) {
        console.error(`turnpike: ${name} exited (${code}); stopping the demo`);
        void stopAll(`${name} exited`, 1);
      }
    });
  });
}

function parseLine(line) {
  if (!line.startsWith('{')) return null;
  try {
    return JSON.parse(line);
  } catch {
    return null;
  }
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
  const proc = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--dir', dir], { stdio: 'ignore' });
  children.push({ name: 'redis-server', proc });
  cleanups.push(async () => rmSync(dir, { recursive: true, force: true }));
  for (let i = 0; i < 50 && !(await redisAnswers('127.0.0.1', port)); i++) await new Promise((r) => setTimeout(r, 100));
  console.log(`turnpike: started a private redis-server on 127.0.0.1:${port} (nothing answered on 6379)`);
  return `redis://127.0.0.1:${port}`;
}

/** Runs a store command of the CLI and returns its JSON output. */
function cli(redis, ...args) {
  const r = spawnSync(node, [bin, ...args, '--redis', redis, '--key-prefix', keyPrefix, '--json'], { cwd: root, encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`turnpike ${args.join(' ')} failed: ${r.stderr.trim()}`);
  return JSON.parse(r.stdout);
}

/** Deletes this run's keys (SCAN, never KEYS or FLUSH: the Redis may be shared). */
async function removeDemoState(redis) {
  const { Redis } = await import('ioredis');
  const client = new Redis(redis, { lazyConnect: true, maxRetriesPerRequest: 1 });
  try {
    await client.connect();
    let cursor = '0';
    let removed = 0;
    do {
      const [next, keys] = await client.scan(cursor, 'MATCH', `${keyPrefix}*`, 'COUNT', 500);
      cursor = next;
      if (keys.length) removed += await client.unlink(...keys);
    } while (cursor !== '0');
    console.log(`turnpike: removed the demo's ${removed} Redis keys (${keyPrefix}*)`);
  } finally {
    client.disconnect();
  }
}

try {
  const redis = await redisUrl();
  const port = process.env.PORT ?? '8080';
  const managementPort = process.env.MANAGEMENT_PORT ?? '9090';
  const upstream = await startChild('upstream', [join(root, 'examples/upstream.mjs'), '0'], 'listening');
  const env = { REDIS_URL: redis, DEMO_UPSTREAM: `http://127.0.0.1:${upstream.port}` };
  cleanups.push(() => removeDemoState(redis));
  let worker = null;
  if (existsSync(join(root, 'examples/functions'))) {
    worker = await startChild('worker', [bin, 'worker', '--config', config, '--functions', join(root, 'examples/functions'), '--redis', redis, '--key-prefix', keyPrefix], 'ready', env);
  }
  const edge = await startChild('edge', [bin, 'edge', '--config', config, '--port', port, '--management-port', managementPort, '--redis', redis, '--key-prefix', keyPrefix], 'listening', env);

  // POST /petstore/prod/pets requires an API key (`security: [api_key]` in the example export).
  const key = cli(redis, 'keys', 'create', '--name', 'demo');
  const plan = cli(redis, 'plans', 'create', '--name', 'demo', '--api-stage', 'petstore/prod', '--rate', '50', '--burst', '100');
  cli(redis, 'plans', 'attach', '--plan', plan.id, '--key', key.id);

  const base = `http://127.0.0.1:${edge.port}`;
  console.log(`
Turnpike is running.
  edge:        ${base}          (PORT=${port})
  management:  http://127.0.0.1:${edge.managementPort}/healthz  /readyz  /metrics   (MANAGEMENT_PORT=${managementPort})
  upstream:    http://127.0.0.1:${upstream.port} (the example pet store)${worker ? '\n  worker:      running the functions in examples/functions' : ''}
  redis:       ${redis} (this run's keys: ${keyPrefix}*, removed when the demo stops)
  API key:     ${key.value}  (usage plan "demo" on petstore/prod; turnpike keys list --redis ${redis} --key-prefix ${keyPrefix})

Try:
  curl -i ${base}/health
  curl -i ${base}/petstore/prod/pets?type=dog
  curl -i ${base}/petstore/prod/pets/2
  curl -i -X POST ${base}/petstore/prod/pets -H 'x-api-key: ${key.value}' -H 'content-type: application/json' -d '{"type":"cat","price":9.5}'
  curl -i -X POST ${base}/petstore/prod/pets -H 'content-type: application/json' -d '{}'   # no key: 403
  curl -i ${base}/echo/anything?x=1
  curl -i ${base}/hello              # a Lambda-style function (examples/functions/hello.mjs) on the worker,
                                     # throttled at 5 req/s with a burst of 5: eight calls at once get 429s
  for i in 1 2 3 4 5 6 7 8; do curl -s -o /dev/null -w '%{http_code} ' ${base}/hello & done; wait; echo
  curl -i -X OPTIONS ${base}/hello -H 'Origin: http://localhost:3000' -H 'Access-Control-Request-Method: GET'   # CORS preflight
  curl -i -X POST ${base}/echo-fn -d 'hi'   # the payload 2.0 event the function received
  curl -i ${base}/nowhere            # 403 Missing Authentication Token, as a REST API answers it
  curl -i -X DELETE ${base}/health   # 403 too: no route for the method

WebSocket: connect to ws://127.0.0.1:${edge.port}/chat/live and send {"action":"ping"} (mock: pong) or any
other text (the echo function answers with the event it received).

Ctrl-C (or SIGTERM) stops everything.`);
  // For tests and supervisors: one machine-readable line, on request.
  if (process.env.TURNPIKE_DEMO_EVENTS === '1') process.stdout.write(`${JSON.stringify({ event: 'demo-ready', port: edge.port, managementPort: edge.managementPort, apiKey: key.value, keyPrefix, pid: process.pid })}\n`);
} catch (err) {
  console.error(`turnpike: ${err.message}`);
  await stopAll('start failed', 1);
}
