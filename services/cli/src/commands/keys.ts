import { UsageError, parse, type Command } from '../command.js';
import { STORE_HELP, STORE_OPTIONS, printTable, withStore } from './storeAccess.js';

export const command: Command = {
  help: `turnpike keys create --name NAME [--value VALUE] [--disabled]
turnpike keys list
turnpike keys disable --id ID
turnpike keys enable --id ID

Manages API keys. A key's value is printed once, by create, and never stored: only its SHA-256 is.
Without --value a random 40-character value is generated. Changes reach running edges at once.
${STORE_HELP}`,
  async run(argv) {
    const { values, positionals } = parse(argv, {
      ...STORE_OPTIONS,
      name: { type: 'string' },
      value: { type: 'string' },
      disabled: { type: 'boolean' },
      id: { type: 'string' },
    }, 1);
    const [action] = positionals;
    switch (action) {
      case 'create':
        if (!values.name) throw new UsageError('--name is required');
        return withStore('keys', values, async (store) => {
          const key = await store.createKey({ name: values.name!, value: values.value, enabled: !values.disabled });
          if (values.json) console.log(JSON.stringify(key));
          else console.log(`created API key ${key.id} (${key.name}${key.enabled ? '' : ', disabled'})\nvalue: ${key.value}\nThe value is shown only now; store it safely.`);
          return 0;
        });
      case 'list':
        return withStore('keys', values, async (store) => {
          const keys = await store.listKeys();
          if (values.json) console.log(JSON.stringify(keys));
          else printTable(['ID', 'NAME', 'ENABLED', 'PLANS', 'CREATED'], keys.map((k) => [k.id, k.name, k.enabled ? 'yes' : 'no', k.planIds.join(',') || '-', k.createdAt]));
          return 0;
        });
      case 'disable':
      case 'enable':
        if (!values.id) throw new UsageError('--id is required');
        return withStore('keys', values, async (store) => {
          const key = await store.setKeyEnabled(values.id!, action === 'enable');
          if (values.json) console.log(JSON.stringify(key));
          else console.log(`API key ${key.id} ${action}d`);
          return 0;
        });
      default:
        throw new UsageError(action ? `unknown action "${action}" (create, list, disable, enable)` : 'an action is required: create, list, disable or enable');
    }
  },
};
