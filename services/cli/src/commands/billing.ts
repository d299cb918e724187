import { readFileSync } from 'node:fs';
import { parse as parseYaml } from 'yaml';
import { ApiKeyStore, BillingStore, RedisKeys, StoreError } from '@turnpike/redis';
import { BillingService, deliverToWebhook, statementToText, statementsToCsv, toCloudEvent, toStripeMeterEvent, type ExportFormat } from '@turnpike/billing';
import { UsageError, intOption, parse, type Command } from '../command.js';
import { STORE_HELP, STORE_OPTIONS, printTable, redisTarget, withRedis } from './storeAccess.js';

export const command: Command = {
  help: `turnpike billing price add --plan PLAN_ID --file PRICE.yaml|json
turnpike billing price list --plan PLAN_ID
turnpike billing account --key KEY_ID [--stripe-customer cus_...] [--spend-cap AMOUNT --currency USD [--cap-action block|notify]]
turnpike billing statement --key KEY_ID --month YYYY-MM [--csv]
turnpike billing run --month YYYY-MM [--csv]
turnpike billing export --month YYYY-MM [--format cloudevents|stripe] [--webhook URL [--attempts N]] [--stripe-event NAME]

Pay per call (docs/billing.md). A price version takes effect on a UTC day and never rewrites the days
before it. statement rates a key's metered calls for a month (so far, for the month in progress); run
closes a finished month for every key and stores each statement once, so running it again prints the
same statements. export writes one event per key, plan and finished day (CloudEvents JSON lines by
default, or Stripe meter events) to stdout, or posts them to --webhook with an Idempotency-Key each,
retrying failures; a later export sends only what the webhook has not acknowledged.
${STORE_HELP}`,
  async run(argv) {
    const { values, positionals } = parse(argv, {
      ...STORE_OPTIONS,
      plan: { type: 'string' },
      file: { type: 'string' },
      key: { type: 'string' },
      month: { type: 'string' },
      csv: { type: 'boolean' },
      format: { type: 'string' },
      webhook: { type: 'string' },
      attempts: { type: 'string' },
      'stripe-event': { type: 'string' },
      'stripe-customer': { type: 'string' },
      'spend-cap': { type: 'string' },
      currency: { type: 'string' },
      'cap-action': { type: 'string' },
    }, 2);
    const [action, sub] = positionals;
    const format = (values.format ?? 'cloudevents') as ExportFormat;
    if (format !== 'cloudevents' && format !== 'stripe') throw new UsageError('--format is cloudevents or stripe');
    const attempts = intOption(values.attempts, 'attempts', 1, 20);
    const { endpoint, prefix } = redisTarget(values);
    const run = (fn: (billing: BillingService) => Promise<number>) =>
      withRedis('billing', endpoint, (redis) => {
        const keys = new RedisKeys(prefix);
        return fn(new BillingService(new ApiKeyStore(redis, keys), new BillingStore(redis, keys)));
      });
    const needMonth = () => {
      if (!values.month) throw new UsageError('--month YYYY-MM is required');
      return values.month;
    };

    switch (action) {
      case 'price': {
        if (!values.plan) throw new UsageError('--plan is required');
        if (sub === 'add') {
          if (!values.file) throw new UsageError('--file is required');
          return run(async (b) => {
            const v = await b.addPrice(values.plan!, readPriceFile(values.file!));
            console.log(values.json ? JSON.stringify(v) : `price for usage plan ${values.plan} in ${v.currency} takes effect on ${v.effectiveFrom}`);
            return 0;
          });
        }
        if (sub === 'list') {
          return run(async (b) => {
            const versions = await b.prices(values.plan!);
            if (values.json) console.log(JSON.stringify(versions));
            else printTable(['EFFECTIVE FROM', 'CURRENCY', 'MONTHLY FEE', 'RATES'], versions.map((v) => [v.effectiveFrom, v.currency, v.monthlyFee ?? '-', v.rates.length]));
            return 0;
          });
        }
        throw new UsageError('expected "price add" or "price list"');
      }
      case 'account': {
        if (sub) throw new UsageError(`unexpected argument "${sub}"`);
        if (!values.key) throw new UsageError('--key is required');
        if (values['spend-cap'] !== undefined && !values.currency) throw new UsageError('--spend-cap needs --currency');
        const capAction = values['cap-action'] ?? 'block';
        if (capAction !== 'block' && capAction !== 'notify') throw new UsageError('--cap-action is block or notify');
        if (values['spend-cap'] !== undefined && !/^\d{1,15}(\.\d{1,9})?$/.test(values['spend-cap'])) throw new UsageError('--spend-cap is a decimal amount such as 100 or 49.50');
        return run(async (b) => {
          await b.keys.getKey(values.key!);
          const current = (await b.billing.getAccount(values.key!)) ?? { keyId: values.key! };
          const account = {
            ...current,
            ...(values['stripe-customer'] ? { stripeCustomerId: values['stripe-customer'] } : {}),
            ...(values['spend-cap'] !== undefined ? { spendCap: { amount: values['spend-cap'], currency: values.currency!, action: capAction as 'block' | 'notify' } } : {}),
          };
          await b.billing.setAccount(account);
          console.log(values.json ? JSON.stringify(account) : `billing account of API key ${values.key} updated`);
          return 0;
        });
      }
      case 'statement': {
        if (!values.key) throw new UsageError('--key is required');
        const month = needMonth();
        return run(async (b) => {
          const statements = await b.statements(values.key!, month);
          if (values.csv) process.stdout.write(statementsToCsv(statements));
          else if (values.json) console.log(JSON.stringify(statements));
          else if (statements.length === 0) console.log(`no priced usage plan for API key ${values.key}`);
          else console.log(statements.map(statementToText).join('\n\n'));
          return 0;
        });
      }
      case 'run': {
        const month = needMonth();
        return run(async (b) => {
          const closed = await b.closeMonth(month);
          const statements = closed.map((c) => c.statement);
          if (values.csv) process.stdout.write(statementsToCsv(statements));
          else if (values.json) console.log(JSON.stringify(closed));
          else printTable(['API KEY', 'PLAN', 'CALLS', 'TOTAL', 'CURRENCY', 'CLOSED'], closed.map((c) => [c.statement.keyId, c.statement.planId, c.statement.calls, c.statement.total, c.statement.currency, c.created ? 'now' : 'before']));
          return 0;
        });
      }
      case 'export': {
        const month = needMonth();
        return run(async (b) => {
          const events = await b.usageEvents(month);
          if (values.webhook) {
            const report = await deliverToWebhook(events, b.billing, { url: values.webhook, format, attempts, stripeEventName: values['stripe-event'] });
            console.log(values.json ? JSON.stringify(report) : `delivered ${report.delivered}, already delivered ${report.alreadyDelivered}, skipped ${report.skipped} (no Stripe customer), failed ${report.failed.length}`);
            for (const f of report.failed) console.error(`turnpike billing: event ${f.id}: ${f.error}`);
            return report.failed.length ? 1 : 0;
          }
          for (const e of events) {
            const out = format === 'stripe' ? toStripeMeterEvent(e, values['stripe-event'] ?? 'api_calls') : toCloudEvent(e, 'turnpike').toJSON();
            if (out !== null) process.stdout.write(`${JSON.stringify(out)}\n`);
          }
          return 0;
        });
      }
      default:
        throw new UsageError('expected price, account, statement, run or export');
    }
  },
};

function readPriceFile(file: string): unknown {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    throw new StoreError('TP_INVALID', `cannot read ${file}: ${(err as NodeJS.ErrnoException).code ?? String(err)}`);
  }
  try {
    return parseYaml(text);
  } catch (err) {
    throw new StoreError('TP_INVALID', `${file} is not YAML or JSON: ${(err as Error).message.split('\n')[0]}`);
  }
}
