import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Edge } from '@turnpike/edge';
import { SHARED_REDIS_URL, TURNPIKE_BIN, spawnTurnpike, type TurnpikeProcess } from '@turnpike/testing';
import { loadedRevision, putAndDeploy, startControlPlane, type ControlPlane } from './fixtures.js';

/**
 * Functions deployed with an API (docs/functions.md, "Functions in deployments"): a real worker process
 * follows the control plane and runs each version a stage serves, without a restart.
 */
let cp: ControlPlane;
let edge: Edge;
let worker: TurnpikeProcess;
const dir = mkdtempSync(join(tmpdir(), 'tp-deployed-fn-'));

beforeAll(async () => {
  cp = await startControlPlane('deployed-functions');
  [edge, worker] = await Promise.all([
    cp.edge(),
    spawnTurnpike(['worker', '--control', SHARED_REDIS_URL, '--key-prefix', cp.prefix, '--control-poll-ms', '200', '--concurrency', '2'], { readyEvent: 'ready', timeoutMs: 30_000 }),
  ]);
});
afterAll(async () => {
  await worker?.stop();
  await cp?.close();
  rmSync(dir, { recursive: true, force: true });
});

/**
 * The handler of version `v`: answers which version and process ran it; with `?hold=NAME` it first notes
 * NAME.started and waits for NAME.release, so the test decides when an invocation in flight ends.
 */
function greet(v: string) {
  return `
import { existsSync, writeFileSync } from 'node:fs';
export const handler = async (event, context) => {
  const hold = event.queryStringParameters?.hold;
  if (hold) {
    writeFileSync(process.env.DIR + '/' + hold + '.started', '');
    while (!existsSync(process.env.DIR + '/' + hold + '.release')) await new Promise((r) => setTimeout(r, 20));
  }
  return { statusCode: 200, body: JSON.stringify({ v: '${v}', host: process.pid, worker: process.ppid, version: context.functionVersion, runtime: process.env.AWS_EXECUTION_ENV }) };
};`;
}

const api = (v: string) => ({
  routes: { 'GET /greet': { integration: { type: 'function', function: 'greet' } } },
  functions: { greet: { code: greet(v), timeoutMs: 20_000, environment: { DIR: dir } } },
});

async function call(query = ''): Promise<{ v: string; host: number; worker: number; version: string; runtime: string }> {
  const r = await fetch(`http://127.0.0.1:${edge.port}/prod/greet${query}`);
  const text = await r.text();
  expect(r.status, text).toBe(200);
  return JSON.parse(text);
}

/** Waits until the edge serves the control plane's current revision. */
async function synced(): Promise<void> {
  const { revision } = await cp.client.call<{ revision: number }>('GET', '/v1/revision');
  await loadedRevision(edge, revision);
}

async function until(file: string): Promise<void> {
  const deadline = Date.now() + 15_000;
  while (!existsSync(file)) {
    if (Date.now() > deadline) throw new Error(`${file} never appeared`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

describe('functions in deployments', () => {
  it('runs a new version without restarting the worker; an invocation in flight finishes on the old code', async () => {
    await putAndDeploy(cp.client, 'shop', api('v1'));
    await synced();
    const first = await call();
    expect(first.v).toBe('v1');
    expect(first.worker).toBe(worker.info.pid);
    expect(first.version).toMatch(/^[0-9a-f]{12}$/);
    expect(first.runtime).toBe(`AWS_Lambda_nodejs${process.versions.node.split('.')[0]}.x`);

    // A v1 invocation holds on; v2 is deployed meanwhile.
    const held = call('?hold=a');
    await until(join(dir, 'a.started'));
    const t0 = performance.now();
    await putAndDeploy(cp.client, 'shop', api('v2'));
    const deployed = performance.now();
    await synced();

    const second = await call();
    console.log(`v2 answered ${Math.round(performance.now() - deployed)} ms after the admin API confirmed the deploy (${Math.round(deployed - t0)} ms to PUT and deploy), with a new host on the same worker`);
    expect(second).toMatchObject({ v: 'v2', worker: worker.info.pid });
    expect(second.version).not.toBe(first.version);
    expect(second.host).not.toBe(first.host);

    writeFileSync(join(dir, 'a.release'), '');
    expect(await held).toMatchObject({ v: 'v1', host: first.host, version: first.version });
    expect(worker.proc.exitCode).toBeNull();

    // v1 is served by no stage: its hosts go once its queues stay empty past the grace period.
    const deadline = Date.now() + 10_000;
    while (!worker.output().includes(`"function":"greet@${first.version}","msg":"function retired"`)) {
      if (Date.now() > deadline) throw new Error(`v1 not retired:\n${worker.output()}`);
      await new Promise((r) => setTimeout(r, 50));
    }
    const third = await call();
    expect(third.v).toBe('v2');

    // A deploy that changes routes only keeps the function's version, and so its warm host.
    await putAndDeploy(cp.client, 'shop', { ...api('v2'), routes: { ...api('v2').routes, 'GET /other': { integration: { type: 'mock', body: 'other' } } } });
    await synced();
    expect(await call()).toMatchObject({ v: 'v2', version: second.version, host: third.host });

    // A canary's requests run the canary deployment's code; the stage's own deployment keeps its own.
    await cp.client.call('PUT', '/v1/apis/shop', { body: { definition: api('v3') } });
    const { deployment: v3 } = await cp.client.call<{ deployment: { id: string } }>('POST', '/v1/apis/shop/deployments', { body: {} });
    await cp.client.call('PUT', '/v1/apis/shop/stages/prod/canary', { body: { deploymentId: v3.id, percent: 100 } });
    await synced();
    expect((await call()).v).toBe('v3');
    await cp.client.call('DELETE', '/v1/apis/shop/stages/prod/canary');
    await synced();
    expect(await call()).toMatchObject({ v: 'v2', version: second.version });
  }, 60_000);

  it('turnpike apis put --functions deploys the functions a config file declares, CommonJS included', async () => {
    writeFileSync(join(dir, 'hello.cjs'), "exports.hi = async (event, context) => ({ statusCode: 200, body: 'hello from ' + context.functionName + ' ' + process.env.GREETING });\n");
    const file = join(dir, 'hello.yaml');
    writeFileSync(
      file,
      `functions:\n  hello: { handler: ./hello.hi, environment: { GREETING: cjs } }\n  unused: { handler: ./nowhere.handler }\napis:\n  - name: hello\n    routes:\n      GET /hi: { integration: { type: function, function: hello } }\n`,
    );
    const token = (cp.client as unknown as { token: string }).token;
    const cli = (...args: string[]) =>
      new Promise<{ code: number; out: string }>((resolve) =>
        execFile(process.execPath, [TURNPIKE_BIN, ...args], { env: { ...process.env, TURNPIKE_CONTROL_URL: cp.url, TURNPIKE_TOKEN: token } }, (err, stdout, stderr) => resolve({ code: err ? 1 : 0, out: stdout + stderr })),
      );
    expect(await cli('apis', 'put', '--file', file, '--functions')).toMatchObject({ code: 0 });
    expect(await cli('deploy', '--api', 'hello', '--stage', 'beta')).toMatchObject({ code: 0 });
    await synced();
    const r = await fetch(`http://127.0.0.1:${edge.port}/beta/hi`);
    expect(await r.text()).toBe('hello from hello cjs');
  }, 60_000); // two CLI processes: seconds each on a loaded machine
});
