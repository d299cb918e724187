import { writeFileSync } from 'node:fs';
import { stringify } from 'yaml';
import { exportApi, loadConfig } from '@turnpike/config';
import { STAGE_VARIABLE_OPTION, UsageError, parse, stageVariables, type Command } from '../command.js';

export const command: Command = {
  help: `turnpike export --config FILE --api NAME --stage STAGE [--format oas30|swagger] [--out FILE]

Writes API NAME of FILE back as the document AWS's get-export gives (OpenAPI 3 or Swagger 2.0 with
x-amazon-apigateway-* extensions), YAML, to stdout or --out (.json writes JSON). Importing it again gives
the same routes, authorizers and settings; it can be imported into API Gateway.`,
  async run(argv) {
    const { values } = parse(argv, {
      config: { type: 'string', short: 'c' },
      api: { type: 'string' },
      stage: { type: 'string' },
      format: { type: 'string' },
      out: { type: 'string', short: 'o' },
      ...STAGE_VARIABLE_OPTION,
    });
    if (!values.config || !values.api || !values.stage) throw new UsageError('--config, --api and --stage are required');
    const format = values.format ?? 'oas30';
    if (format !== 'oas30' && format !== 'swagger') throw new UsageError('--format is oas30 or swagger');
    const config = loadConfig(values.config, { stageVariables: stageVariables(values['stage-variable']) });
    let doc: object;
    try {
      doc = exportApi(config, values.api, values.stage, format);
    } catch (err) {
      throw new UsageError((err as Error).message);
    }
    const text = values.out?.endsWith('.json') ? `${JSON.stringify(doc, null, 2)}\n` : stringify(doc, { lineWidth: 0 });
    if (values.out) writeFileSync(values.out, text);
    else process.stdout.write(text);
    return 0;
  },
};
