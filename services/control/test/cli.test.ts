import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import type { Edge } from '@turnpike/edge';
import { TURNPIKE_BIN } from '@turnpike/testing';
import { loadedRevision, startControlPlane, type ControlPlane } from './fixtures.js';

/** The CLI commands as thin clients of the admin API: the worked example of docs/versions.md. */
let cp: ControlPlane;
let edge: Edge;
let token: string;
const dir = mkdtempSync(join(tmpdir(), 'tp-ctl-cli-'));

beforeAll(async () => {
  cp = await startControlPlane('cli');
  edge = await cp.edge();
  token = (cp.client as unknown as { token: string }).token;
});
afterAll(async () => {
  await cp?.close();
  rmSync(dir, { recursive: true, force: true });
});

function turnpike(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, [TURNPIKE_BIN, ...args], { env: { ...process.env, TURNPIKE_CONTROL_URL: cp.url, TURNPIKE_TOKEN: token } }, (err, stdout, stderr) =>
      resolve({ code: err ? ((err as { code?: number }).code ?? 1) : 0, stdout, stderr }),
    );
  });
}

function version(name: string, body: string): string {
  const p = join(dir, name);
  writeFileSync(p, `apis:\n  - name: shop\n    stages: { prod: { variables: { tier: gold } } }\n    routes:\n      GET /v: { integration: { type: mock, body: '${body}' } }\n`);
  return p;
}

async function served(): Promise<string> {
  const { revision } = await cp.client.call<{ revision: number }>('GET', '/v1/revision');
  await loadedRevision(edge, revision);
  return (await fetch(`http://127.0.0.1:${edge.port}/prod/v`)).text();
}

it('ships v2 as a 10 % canary, promotes it and rolls back, from the command line', async () => {
  expect((await turnpike('apis', 'put', '--file', version('v1.yaml', 'one'))).stdout).toMatch(/API shop saved \(version 1, 1 routes\)/);
  const d1 = JSON.parse((await turnpike('deploy', '--api', 'shop', '--stage', 'prod', '--description', 'v1', '--json')).stdout).deployment.id as string;
  expect(await served()).toBe('one');

  await turnpike('apis', 'put', '--file', version('v2.yaml', 'two'));
  const list = await turnpike('deployments', 'list', '--api', 'shop', '--json');
  expect(JSON.parse(list.stdout).deployments).toHaveLength(1);
  const made = await cp.client.call<{ deployment: { id: string } }>('POST', '/v1/apis/shop/deployments', { body: { description: 'v2' } });
  const d2 = made.deployment.id;
  const diff = await turnpike('deployments', 'diff', '--api', 'shop', d1, d2);
  expect(diff.stdout.trim()).toBe('~ routes.GET /v.integration.body: "one" -> "two"');

  const canary = await turnpike('canary', 'create', '--api', 'shop', '--stage', 'prod', '--deployment', d2, '--percent', '10', '--variable', 'tier=silver');
  expect(canary.stdout).toMatch(new RegExp(`canary ${d2} at 10%`));
  const promoted = await turnpike('canary', 'promote', '--api', 'shop', '--stage', 'prod');
  expect(promoted.code).toBe(0);
  expect(await served()).toBe('two');

  expect((await turnpike('rollback', '--api', 'shop', '--stage', 'prod')).stdout).toMatch(new RegExp(`now serves ${d1}`));
  expect(await served()).toBe('one');

  const history = await turnpike('stages', 'history', '--api', 'shop', '--stage', 'prod', '--json');
  expect(JSON.parse(history.stdout).history.map((h: { action: string }) => h.action)).toEqual(['rollback', 'canary-promote', 'canary-create', 'deploy']);
  const stage = JSON.parse((await turnpike('stages', 'show', '--api', 'shop', '--stage', 'prod', '--json')).stdout);
  expect(stage.variables).toEqual({ tier: 'silver' });

  const stale = await turnpike('stages', 'update', '--api', 'shop', '--stage', 'prod', '--variable', 'tier=gold', '--if-match', '1');
  expect(stale.code).toBe(1);
  expect(stale.stderr).toMatch(/version 1 was expected but the record is at version 4 \(HTTP 409 conflict\)/);
}, 180_000); // a dozen CLI processes: seconds each on a loaded machine

it('prints every problem of a bad definition with file and line before calling the API, and refuses a missing token', async () => {
  const bad = join(dir, 'bad.yaml');
  writeFileSync(bad, 'apis:\n  - name: shop\n    routes:\n      GET /v: { integration: { type: http_proxy } }\n');
  const r = await turnpike('apis', 'put', '--file', bad);
  expect(r.code).toBe(1);
  expect(r.stderr).toContain(`${bad}:4: apis[0].routes.GET /v.integration.uri:`);

  // An OpenAPI document (AWS export) is one API, named by --api.
  const pets = await turnpike('apis', 'put', '--file', join(__dirname, '../../../examples/petstore-openapi.yaml'), '--api', 'pets');
  expect(pets.stdout).toMatch(/API pets saved \(version 1, 5 routes\)/);

  const noToken = await new Promise<{ code: number; stderr: string }>((resolve) =>
    execFile(process.execPath, [TURNPIKE_BIN, 'apis', 'list'], { env: { ...process.env, TURNPIKE_CONTROL_URL: cp.url, TURNPIKE_TOKEN: '' } }, (err, _o, stderr) => resolve({ code: (err as { code?: number } | null)?.code ?? 0, stderr })),
  );
  expect(noToken.code).toBe(2);
  expect(noToken.stderr).toMatch(/an admin token is required/);
}, 60_000);
