import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { afterAll, assert, describe, expect, it } from 'vitest';
import { exportApi, loadConfig, type TurnpikeConfig } from '@turnpike/config';

/** import → export → import is stable, in both formats, for the fixture corpus. */
const fixtures = join(__dirname, '../../../test/fixtures/openapi');
const dir = mkdtempSync(join(tmpdir(), 'tp-export-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const vars = { upstream: 'http://127.0.0.1:1', down: 'http://127.0.0.1:2' };
const CASES: [string, Record<string, string>][] = [
  ['mapping-oas30.yaml', vars],
  ['cognito-oas30.yaml', {}],
  ['validators-swagger2.yaml', vars],
  ['petstore-swagger2.yaml', vars],
  ['httpapi-oas30.yaml', {}],
];

function roundTrip(first: TurnpikeConfig, format: 'oas30' | 'swagger', name: string, stageVariables: Record<string, string>): TurnpikeConfig {
  const [api] = first.apis;
  assert.isDefined(api);
  const [stage] = Object.keys(api.stages);
  assert.isDefined(stage);
  const file = join(dir, `${name}.${format}.yaml`);
  writeFileSync(file, stringify(exportApi(first, api.name, stage, format), { lineWidth: 0 }));
  return loadConfig(file, { stageVariables });
}

describe('export round trip', () => {
  for (const [name, stageVariables] of CASES) {
    for (const format of ['oas30', 'swagger'] as const) {
      it(`${name} as ${format}`, () => {
        const first = loadConfig(join(fixtures, name), { stageVariables });
        const again = roundTrip(first, format, name, stageVariables);
        const [a] = first.apis;
        const [b] = again.apis;
        assert.isDefined(a);
        assert.isDefined(b);
        expect(b.routes).toEqual(a.routes);
        expect(b.authorizers).toEqual(a.authorizers);
        expect(Object.keys(b.stages)).toEqual(Object.keys(a.stages));
        expect(b.cors).toEqual(a.cors);
        expect(b.gatewayResponses ?? {}).toEqual(a.gatewayResponses ?? {});
        expect(b.binaryMediaTypes).toEqual(a.binaryMediaTypes);
        expect(b.type).toBe(a.type);
        // And once more: the exported document is a fixed point.
        expect(roundTrip(again, format, `${name}-2`, stageVariables).apis[0]?.routes).toEqual(b.routes);
      });
    }
  }
});
