import { loadConfig, formatIssue } from '@turnpike/config';
import { STAGE_VARIABLE_OPTION, UsageError, parse, stageVariables, type Command } from '../command.js';

export const command: Command = {
  help: `turnpike validate --config FILE [--stage-variable NAME=VALUE ...]

Checks a Turnpike config file, an OpenAPI 3 or a Swagger 2.0 document (--stage-variable sets the
variables of a document's $default stage). Exits 0 when it is valid (warnings are printed),
and 1 with every problem listed, each naming the file, the field path and the line.`,
  async run(argv) {
    const { values } = parse(argv, { config: { type: 'string', short: 'c' }, ...STAGE_VARIABLE_OPTION });
    if (!values.config) throw new UsageError('--config is required');
    const config = loadConfig(values.config, { stageVariables: stageVariables(values['stage-variable']) });
    for (const w of config.warnings) console.error(`warning: ${formatIssue(w)}`);
    const routes = config.apis.reduce((n, a) => n + Object.keys(a.routes).length, 0);
    console.log(`${values.config}: valid (${config.apis.length} API(s), ${routes} route(s))`);
    return 0;
  },
};
