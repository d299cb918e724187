import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TURNPIKE_BIN, echoHandler, spawnTurnpike, startUpstream, testPrefix, type Upstream } from '@turnpike/testing';

/** `validate` and `edge` agree on every imported document: same errors, exit 1; what validates is served. */
const fixtures = join(__dirname, '../../../test/fixtures/openapi');
const petstore = join(fixtures, 'petstore-swagger2.yaml');
const dir = mkdtempSync(join(tmpdir(), 'tp-import-cli-'));
const turnpike = (...args: string[]) => spawnSync(process.execPath, [TURNPIKE_BIN, ...args], { encoding: 'utf8' });

/** Runs `turnpike edge` expecting it to exit (it must never linger without listening). */
function edgeExit(args: string[]): Promise<{ code: number | null; stderr: string }> {
  return new Promise((resolve) => {
    const p = spawn(process.execPath, [TURNPIKE_BIN, 'edge', ...args, '--port', '0', '--management-port=-1', '--key-prefix', testPrefix('import-cli')], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stderr = '';
    p.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    p.on('exit', (code) => resolve({ code, stderr }));
  });
}

let upstream: Upstream;
beforeAll(async () => {
  upstream = await startUpstream(echoHandler);
});
afterAll(() => {
  upstream?.close();
  rmSync(dir, { recursive: true, force: true });
});

describe('validate and edge agree', () => {
  it('refuses an undefined stage variable in validate, and the edge exits 1 with the same message', async () => {
    const v = turnpike('validate', '--config', petstore);
    expect(v.status).toBe(1);
    expect(v.stderr).toContain(`${petstore}: routes.GET /pets.integration.uri: uses \${stageVariables.upstream}, which stage "test" does not define (give it with --stage-variable NAME=VALUE)`);
    const e = await edgeExit(['--config', petstore]);
    expect(e.code).toBe(1);
    expect(e.stderr.trim()).toBe(v.stderr.trim());
  });

  it('refuses a URI path parameter the route path does not define in validate, and the edge exits 1 with the same message', async () => {
    const bad = join(dir, 'bad-param.yaml');
    writeFileSync(bad, `apis:\n  - name: a\n    routes:\n      GET /pets/{id}: { integration: { type: http_proxy, uri: "http://127.0.0.1:9/pets/{petId}" } }\n`);
    const v = turnpike('validate', '--config', bad);
    expect(v.status).toBe(1);
    expect(v.stderr.trim()).toBe(`${bad}:4: apis[0].routes.GET /pets/{id}.integration.uri: integration uri uses {petId}, which the route path /pets/{id} does not define`);
    const e = await edgeExit(['--config', bad]);
    expect(e.code).toBe(1);
    expect(e.stderr.trim()).toBe(v.stderr.trim());
  });

  it('exits 1 with the route table\'s own refusal too (an edge-only check)', async () => {
    const bad = join(dir, 'bad-identity.yaml');
    writeFileSync(bad, `apis:\n  - name: a\n    authorizers:\n      r: { type: request, function: f, identitySource: [context.nope], resultTtlSeconds: 0 }\n    routes:\n      GET /x: { authorizer: r, integration: { type: mock } }\n`);
    const e = await edgeExit(['--config', bad]);
    expect(e.code).toBe(1);
    expect(e.stderr).toMatch(/apis\[0\]\.routes\.GET \/x: identity source context\.nope is not supported/);
  });

  it('serves the Swagger 2.0 PetStore under its stage with --stage-variable', async () => {
    expect(turnpike('validate', '--config', petstore, '--stage-variable', `upstream=${upstream.url}`).status).toBe(0);
    const edge = await spawnTurnpike(['edge', '--config', petstore, '--stage-variable', `upstream=${upstream.url}`, '--port', '0', '--management-port=-1', '--key-prefix', testPrefix('import-cli')]);
    try {
      const r = await fetch(`http://127.0.0.1:${edge.info.port}/test/pets/7?x=1`);
      expect(r.status).toBe(200);
      expect(await r.json()).toMatchObject({ method: 'GET', url: '/petstore/pets/7?x=1' });
      expect((await fetch(`http://127.0.0.1:${edge.info.port}/pets/7`)).status).toBe(404);
      // requestParameters: a header renamed, a query parameter renamed, a static one, one passed through.
      const list = (await (await fetch(`http://127.0.0.1:${edge.info.port}/test/pets?type=dog&page=2`, { headers: { 'x-org': 'acme' } })).json()) as { url: string; headers: Record<string, string> };
      expect(list.headers['x-tenant']).toBe('acme');
      expect(new URL(list.url, 'http://x').searchParams.getAll('kind')).toEqual(['dog']);
      expect(new URL(list.url, 'http://x').searchParams.get('src')).toBe('turnpike');
      expect(new URL(list.url, 'http://x').searchParams.getAll('page')).toEqual(['2']);
      const home = await fetch(`http://127.0.0.1:${edge.info.port}/test/`);
      expect(home.headers.get('content-type')).toBe('text/html');
      expect(await home.text()).toContain('Welcome to your Pet Store API');
    } finally {
      expect(await edge.stop()).toBe(0);
    }
  });
});
