import { UsageError, parse, type Command } from '../command.js';
import { STORE_HELP, STORE_OPTIONS, printTable, withStore } from './storeAccess.js';

export const command: Command = {
  help: `turnpike usage --key KEY_ID --from YYYY-MM-DD --to YYYY-MM-DD

Prints the calls and bytes metered for one API key per UTC day, API and stage, from --from to --to
inclusive. With --json, the shape of AWS GetUsage: {"startDate","endDate","items":{KEY_ID:[[calls, remaining],...]}}
with one pair per day (remaining: what is left of a daily quota, else null), plus "details" per API stage.
Edges write usage once a second, so the current second may not show yet.
${STORE_HELP}`,
  async run(argv) {
    const { values } = parse(argv, { ...STORE_OPTIONS, key: { type: 'string' }, from: { type: 'string' }, to: { type: 'string' } }, 0);
    if (!values.key || !values.from || !values.to) throw new UsageError('--key, --from and --to are required');
    return withStore('usage', values, async (store) => {
      const rows = await store.getUsage(values.key!, values.from!, values.to!);
      if (!values.json) {
        if (rows.length === 0) console.log(`no usage for API key ${values.key} from ${values.from} to ${values.to}`);
        else printTable(['DATE', 'API', 'STAGE', 'CALLS', 'BYTES'], rows.map((r) => [r.date, r.apiId, r.stage, r.calls, r.bytes]));
        return 0;
      }
      const key = await store.getKey(values.key!);
      const plans = await Promise.all(key.planIds.map((id) => store.getPlan(id).catch(() => null)));
      const daily = plans.find((p) => p?.quota?.period === 'DAY')?.quota?.limit;
      const perDay = new Map<string, number>();
      for (const r of rows) perDay.set(r.date, (perDay.get(r.date) ?? 0) + r.calls);
      const items: [number, number | null][] = [];
      for (let t = Date.parse(`${values.from}T00:00:00Z`); t <= Date.parse(`${values.to}T00:00:00Z`); t += 86_400_000) {
        const calls = perDay.get(new Date(t).toISOString().slice(0, 10)) ?? 0;
        items.push([calls, daily === undefined ? null : Math.max(0, daily - calls)]);
      }
      console.log(JSON.stringify({ startDate: values.from, endDate: values.to, items: { [key.id]: items }, details: rows }));
      return 0;
    });
  },
};
