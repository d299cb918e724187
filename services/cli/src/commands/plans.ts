import { loadConfig, type TurnpikeConfig } from '@turnpike/config';
import type { PlanApiStage, QuotaSettings, ThrottleLimits } from '@turnpike/redis';
import { UsageError, intOption, parse, type Command } from '../command.js';
import { STORE_HELP, STORE_OPTIONS, printTable, withStore } from './storeAccess.js';

export const command: Command = {
  help: `turnpike plans create --name NAME --api-stage API/STAGE [--api-stage ...] [--rate R --burst B] [--quota N --period DAY|WEEK|MONTH]
turnpike plans list
turnpike plans attach --plan PLAN_ID --key KEY_ID

Manages usage plans: a throttle (R requests per second, bursts of B) and a quota (N requests per UTC
day, ISO week or calendar month) for each API key attached, on the listed API stages (API id / stage name).
With --config, API may also be the API's name: it is resolved to the API's id, and an API or stage the
file does not serve is refused (a plan naming neither would leave its keys answered 403).
A key belongs to at most one plan per API stage.
${STORE_HELP}`,
  async run(argv) {
    const { values, positionals } = parse(argv, {
      ...STORE_OPTIONS,
      name: { type: 'string' },
      'api-stage': { type: 'string', multiple: true },
      rate: { type: 'string' },
      burst: { type: 'string' },
      quota: { type: 'string' },
      period: { type: 'string' },
      plan: { type: 'string' },
      key: { type: 'string' },
    }, 1);
    const [action] = positionals;
    switch (action) {
      case 'create': {
        if (!values.name) throw new UsageError('--name is required');
        let apiStages = (values['api-stage'] ?? []).map(parseApiStage);
        if (apiStages.length === 0) throw new UsageError('at least one --api-stage API/STAGE is required');
        if (values.config) apiStages = resolveApiStages(apiStages, loadConfig(values.config));
        const throttle = parseThrottle(values.rate, values.burst);
        const quota = parseQuota(values.quota, values.period);
        return withStore('plans', values, async (store) => {
          const plan = await store.createPlan({ name: values.name!, apiStages, throttle, quota });
          if (values.json) console.log(JSON.stringify(plan));
          else console.log(`created usage plan ${plan.id} (${plan.name})`);
          return 0;
        });
      }
      case 'list':
        return withStore('plans', values, async (store) => {
          const plans = await store.listPlans();
          if (values.json) console.log(JSON.stringify(plans));
          else
            printTable(
              ['ID', 'NAME', 'THROTTLE', 'QUOTA', 'API STAGES'],
              plans.map((p) => [p.id, p.name, p.throttle ? `${p.throttle.rateLimit}/s burst ${p.throttle.burstLimit}` : '-', p.quota ? `${p.quota.limit}/${p.quota.period}` : '-', p.apiStages.map((s) => `${s.apiId}/${s.stage}`).join(',')]),
            );
          return 0;
        });
      case 'attach':
        if (!values.plan || !values.key) throw new UsageError('--plan and --key are required');
        return withStore('plans', values, async (store) => {
          const key = await store.attachKey(values.plan!, values.key!);
          if (values.json) console.log(JSON.stringify(key));
          else console.log(`API key ${key.id} attached to usage plan ${values.plan}`);
          return 0;
        });
      default:
        throw new UsageError(action ? `unknown action "${action}" (create, list, attach)` : 'an action is required: create, list or attach');
    }
  },
};

function parseApiStage(s: string): PlanApiStage {
  const slash = s.indexOf('/');
  if (slash <= 0 || slash === s.length - 1) throw new UsageError(`--api-stage "${s}" is not API/STAGE`);
  return { apiId: s.slice(0, slash), stage: s.slice(slash + 1) };
}

/**
 * Usage plans name APIs by id (what the edge matches a key's plan against); an API's name is accepted
 * and replaced by its id. Anything the config does not serve is refused with what it does serve.
 */
function resolveApiStages(stages: PlanApiStage[], config: TurnpikeConfig): PlanApiStage[] {
  return stages.map(({ apiId, stage }) => {
    const api = config.apis.find((a) => (a.id ?? a.name) === apiId) ?? config.apis.find((a) => a.name === apiId);
    if (!api) throw new UsageError(`--api-stage ${apiId}/${stage}: ${config.file} has no API with id or name "${apiId}" (APIs: ${config.apis.map((a) => (a.id && a.id !== a.name ? `${a.name} (id ${a.id})` : a.name)).join(', ') || 'none'})`);
    if (!(stage in api.stages)) throw new UsageError(`--api-stage ${apiId}/${stage}: API "${api.name}" has no stage "${stage}" (stages: ${Object.keys(api.stages).join(', ')})`);
    return { apiId: api.id ?? api.name, stage };
  });
}

function parseThrottle(rate: string | undefined, burst: string | undefined): ThrottleLimits | undefined {
  if (rate === undefined && burst === undefined) return undefined;
  if (rate === undefined || burst === undefined) throw new UsageError('--rate and --burst go together');
  const rateLimit = Number(rate);
  if (!(rateLimit > 0) || rateLimit > 10_000_000) throw new UsageError('--rate must be a number of requests per second above 0');
  return { rateLimit, burstLimit: intOption(burst, 'burst', 0, 10_000_000)! };
}

function parseQuota(limit: string | undefined, period: string | undefined): QuotaSettings | undefined {
  if (limit === undefined && period === undefined) return undefined;
  if (limit === undefined || period === undefined) throw new UsageError('--quota and --period go together');
  const p = period.toUpperCase();
  if (p !== 'DAY' && p !== 'WEEK' && p !== 'MONTH') throw new UsageError('--period must be DAY, WEEK or MONTH');
  return { limit: intOption(limit, 'quota', 0, Number.MAX_SAFE_INTEGER)!, period: p };
}
