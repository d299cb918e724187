import { describe, expect, it } from 'vitest';
import { substituteStageVariables, undefinedStageVariables } from '@turnpike/config';

describe('stage variables', () => {
  const variables = { up: 'http://127.0.0.1:8081', v: '2' };

  it('substitute every reference, or name each missing variable once', () => {
    expect(substituteStageVariables('${stageVariables.up}/api/v${stageVariables.v}', variables)).toEqual({ ok: true, text: 'http://127.0.0.1:8081/api/v2' });
    expect(substituteStageVariables('${stageVariables.a}/${stageVariables.up}/${stageVariables.a}${stageVariables.b}', variables)).toEqual({ ok: false, missing: ['a', 'b'] });
    expect(undefinedStageVariables('${stageVariables.a}/${stageVariables.up}/${stageVariables.a}${stageVariables.b}', variables)).toEqual(['a', 'b']);
  });

  it('never take a name from the prototype of the variables object', () => {
    expect(substituteStageVariables('${stageVariables.constructor}', variables)).toEqual({ ok: false, missing: ['constructor'] });
  });
});
