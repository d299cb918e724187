import { spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TURNPIKE_BIN, spawnTurnpike, startUpstream, testPrefix, type Upstream } from '@turnpike/testing';

const dir = mkdtempSync(join(tmpdir(), 'tp-cli-'));
const file = (name: string, text: string) => {
  const p = join(dir, name);
  writeFileSync(p, text);
  return p;
};
const turnpike = (...args: string[]) => spawnSync(process.execPath, [TURNPIKE_BIN, ...args], { encoding: 'utf8' });

describe('turnpike validate', () => {
  it('exits 0 for a valid config and prints warnings for ignored extensions', () => {
    const r = turnpike('validate', '--config', join(__dirname, '../../../examples/petstore-openapi.yaml'), '--stage-variable', 'petstoreUrl=http://127.0.0.1:8081');
    expect(r.status).toBe(0);
    expect(r.stdout).toMatch(/valid \(1 API\(s\), 5 route\(s\)\)/);
    expect(r.stderr).toMatch(/warning: .*petstore-openapi.yaml:\d+: paths\.\/\{proxy\+\}.*cacheKeyParameters/);
  });

  it('exits 1 listing every error with file, path and line', () => {
    const bad = file('bad.yaml', 'apis:\n  - name: "bad name"\n    routes:\n      GET /x: { integration: { type: http_proxy } }\n');
    const r = turnpike('validate', '--config', bad);
    expect(r.status).toBe(1);
    expect(r.stderr).toContain(`${bad}:2: apis[0].name:`);
    expect(r.stderr).toContain(`${bad}:4: apis[0].routes.GET /x.integration.uri:`);
  });

  it('exits 1 naming a file that cannot be read, and 2 for bad usage', () => {
    const missing = turnpike('validate', '--config', join(dir, 'nope.yaml'));
    expect(missing.status).toBe(1);
    expect(missing.stderr).toMatch(/nope\.yaml: \(root\): no such file: \S*nope\.yaml/);
    expect(turnpike('validate').status).toBe(2);
    expect(turnpike('frobnicate').status).toBe(2);
  });
});

describe('turnpike edge', () => {
  let slow: Upstream;
  let release: (() => void) | null = null;
  let arrived: (() => void) | null = null;

  beforeAll(async () => {
    slow = await startUpstream((_req, res) => {
      arrived?.();
      release = () => res.end('finished');
    });
  });
  afterAll(() => slow?.close());

  it('serves an OpenAPI document given directly, at the root with stage $default', async () => {
    const oas = file(
      'oas.yaml',
      `openapi: "3.0.1"
info: { title: direct, version: "1" }
paths:
  /ping:
    get:
      x-amazon-apigateway-integration: { type: mock, responses: { default: { statusCode: "200", responseTemplates: { application/json: '{"pong":true}' } } } }
`,
    );
    const edge = await spawnTurnpike(['edge', '--config', oas, '--port', '0', '--management-port', '0', '--key-prefix', testPrefix('cli')]);
    try {
      const r = await fetch(`http://127.0.0.1:${edge.info.port}/ping`);
      expect(r.status).toBe(200);
      expect(await r.json()).toEqual({ pong: true });
      const health = await fetch(`http://127.0.0.1:${edge.info.managementPort}/healthz`);
      expect(await health.json()).toEqual({ status: 'ok' });
      const ready = await fetch(`http://127.0.0.1:${edge.info.managementPort}/readyz`);
      expect(ready.status).toBe(200);
      expect(await ready.json()).toMatchObject({ status: 'ready', checks: { config: 'loaded', redis: 'ok' } });
    } finally {
      expect(await edge.stop()).toBe(0);
    }
  });

  it('reports not ready while Redis is unreachable', async () => {
    const cfg = file('unready.yaml', `apis:\n  - name: a\n    routes:\n      GET /x: { integration: { type: mock } }\n`);
    const edge = await spawnTurnpike(['edge', '--config', cfg, '--port', '0', '--management-port', '0', '--redis', 'redis://127.0.0.1:1']);
    try {
      const ready = await fetch(`http://127.0.0.1:${edge.info.managementPort}/readyz`);
      expect(ready.status).toBe(503);
      expect((await ready.json()) as object).toMatchObject({ status: 'not ready', checks: { redis: expect.stringMatching(/unreachable/) } });
      // Serving does not depend on Redis for routes that do not need it.
      expect((await fetch(`http://127.0.0.1:${edge.info.port}/x`)).status).toBe(200);
    } finally {
      await edge.stop();
    }
  });

  it('on SIGTERM stops accepting, finishes the in-flight request, and exits 0', async () => {
    const cfg = file('slow.yaml', `apis:\n  - name: a\n    routes:\n      GET /slow: { integration: { type: http_proxy, uri: "${slow.url}/slow" } }\n`);
    const edge = await spawnTurnpike(['edge', '--config', cfg, '--port', '0', '--management-port', '0', '--key-prefix', testPrefix('cli')]);
    const port = edge.info.port as number;
    const upstreamHasIt = new Promise<void>((resolve) => (arrived = resolve));
    const inFlight = fetch(`http://127.0.0.1:${port}/slow`);
    await upstreamHasIt;
    const exited = edge.stop('SIGTERM');
    await expect.poll(() => edge.output(), { timeout: 5000 }).toMatch(/edge draining/);
    // The listener closes first: a new connection is refused while the old request is still running.
    await expect.poll(async () => fetch(`http://127.0.0.1:${port}/slow`).then(() => 'accepted', (e: Error) => String((e.cause as Error)?.message ?? e)), { timeout: 5000 }).toMatch(/ECONNREFUSED/);
    release!();
    const r = await inFlight;
    expect(r.status).toBe(200);
    expect(await r.text()).toBe('finished');
    expect(await exited).toBe(0);
    expect(edge.output()).toMatch(/"clean":true/);
  });
});
