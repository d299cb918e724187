import { loadConfig, formatIssue } from '@turnpike/config';
import { UsageError, parse, type Command } from '../command.js';

export const command: Command = {
  help: `turnpike validate --config FILE

Checks a Turnpike config file or an OpenAPI 3 document. Exits 0 when it is valid (warnings are printed),
and 1 with every problem listed, each naming the file, the field path and the line.`,
  async run(argv) {
    const { values } = parse(argv, { config: { type: 'string', short: 'c' } });
    if (!values.config) throw new UsageError('--config is required');
    const config = loadConfig(values.config);
    for (const w of config.warnings) console.error(`warning: ${formatIssue(w)}`);
    const routes = config.apis.reduce((n, a) => n + Object.keys(a.routes).length, 0);
    console.log(`${values.config}: valid (${config.apis.length} API(s), ${routes} route(s))`);
    return 0;
  },
};
