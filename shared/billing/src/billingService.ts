import { createHash } from 'node:crypto';
import { ApiKeyStore, BillingStore, StoreError, utcDate, type BillingAccount } from '@turnpike/redis';
import { formatAmount, parseAmount } from './money.js';
import { PriceVersion, type PriceVersionConfig } from './price.js';
import { lastDayOf, rateMonth, type Statement } from './rating.js';

/** One day of one key's rated usage on one plan: what is exported to billing systems. */
export interface UsageEvent {
  /** Deterministic (key, plan, day): the idempotency key a receiver deduplicates on. */
  id: string;
  keyId: string;
  planId: string;
  date: string;
  calls: number;
  bytes: number;
  /** What the day adds to the month's charges (tiers applied), exact. */
  amount: string;
  currency: string;
  stripeCustomerId: string | null;
}

const MONTH = /^\d{4}-(0[1-9]|1[0-2])$/;

/**
 * Statements, month closing, spend and usage export over the stores: the one place that puts keys,
 * plans, prices and metered usage together. Built per command or per edge from open stores.
 */
export class BillingService {
  constructor(
    readonly keys: ApiKeyStore,
    readonly billing: BillingStore,
    private readonly clock: () => number = Date.now,
  ) {}

  /** Validates and adds a price version to a plan (see BillingStore.addPriceVersion for the rules). */
  async addPrice(planId: string, input: unknown): Promise<PriceVersionConfig> {
    await this.keys.getPlan(planId);
    const parsed = PriceVersion.safeParse(input);
    if (!parsed.success) {
      throw new StoreError('TP_INVALID', `invalid price: ${parsed.error.issues.map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`).join('; ')}`);
    }
    await this.billing.addPriceVersion(planId, parsed.data, this.clock());
    return parsed.data;
  }

  async prices(planId: string): Promise<PriceVersionConfig[]> {
    return (await this.billing.priceVersions(planId)).map((v) => PriceVersion.parse(v));
  }

  /** The key's statements for `month`, one per priced plan; up to today for the month in progress. */
  async statements(keyId: string, month: string): Promise<Statement[]> {
    checkMonth(month);
    const key = await this.keys.getKey(keyId);
    const today = utcDate(this.clock());
    const first = `${month}-01`;
    if (first > today) return [];
    const last = lastDayOf(month) < today ? lastDayOf(month) : today;
    const usage = await this.keys.getRouteUsage(keyId, first, last);
    const out: Statement[] = [];
    for (const planId of key.planIds) {
      const plan = await this.keys.getPlan(planId).catch(() => null);
      if (plan === null) continue;
      const versions = await this.prices(planId);
      if (versions.length === 0) continue;
      out.push(rateMonth({ keyId, planId, month, apiStages: plan.apiStages.map((s) => `${s.apiId}/${s.stage}`), versions, usage }));
    }
    return out;
  }

  /**
   * Closes a finished month for every key: each statement is computed and stored once, so running it
   * again returns the same statements (and `created: false`).
   */
  async closeMonth(month: string): Promise<{ statement: Statement; created: boolean }[]> {
    checkMonth(month);
    if (lastDayOf(month) >= utcDate(this.clock())) throw new StoreError('TP_INVALID', `${month} is not over yet (UTC); a month is closed once its last day has passed`);
    const out: { statement: Statement; created: boolean }[] = [];
    for (const key of await this.keys.listKeys()) {
      for (const s of await this.statements(key.id, month)) out.push(await this.billing.closeStatement(key.id, month, s.planId, s));
    }
    return out;
  }

  /** Month-to-date charges of a key in `currency` (statements in other currencies are not added). */
  async monthToDate(keyId: string, currency: string): Promise<string> {
    const month = utcDate(this.clock()).slice(0, 7);
    let sum = 0n;
    for (const s of await this.statements(keyId, month)) if (s.currency === currency) sum += parseAmount(s.subtotal)!;
    return formatAmount(sum, currency, true);
  }

  /** Keys whose month-to-date charges reached their spend cap, with the cap's action. */
  async overCap(): Promise<{ account: BillingAccount; spent: string }[]> {
    const out: { account: BillingAccount; spent: string }[] = [];
    for (const account of await this.billing.cappedAccounts()) {
      const cap = account.spendCap!;
      const spent = await this.monthToDate(account.keyId, cap.currency).catch(() => null);
      if (spent !== null && parseAmount(spent)! >= parseAmount(cap.amount)!) out.push({ account, spent });
    }
    return out;
  }

  /**
   * One event per key, priced plan and finished day of `month` with billable calls: the day's calls and
   * what they add to the month's charges (the month rated to that day minus the month rated to the day
   * before, so tiers are applied exactly as on the statement). Days still in progress are not exported.
   */
  async usageEvents(month: string): Promise<UsageEvent[]> {
    checkMonth(month);
    const today = utcDate(this.clock());
    const events: UsageEvent[] = [];
    for (const key of await this.keys.listKeys()) {
      const account = await this.billing.getAccount(key.id);
      const last = lastDayOf(month) < today ? lastDayOf(month) : previousDay(today);
      if (last < `${month}-01`) continue;
      const usage = await this.keys.getRouteUsage(key.id, `${month}-01`, last);
      for (const planId of key.planIds) {
        const plan = await this.keys.getPlan(planId).catch(() => null);
        const versions = plan ? await this.prices(planId) : [];
        if (plan === null || versions.length === 0) continue;
        const apiStages = plan.apiStages.map((s) => `${s.apiId}/${s.stage}`);
        const inPlan = new Set(apiStages);
        const days = [...new Set(usage.filter((u) => inPlan.has(`${u.apiId}/${u.stage}`) && u.calls > 0).map((u) => u.date))].sort();
        let before = 0n;
        for (const date of days) {
          const upTo = usage.filter((u) => u.date <= date);
          const s = rateMonth({ keyId: key.id, planId, month, apiStages, versions, usage: upTo });
          const fee = s.lines.filter((l) => l.kind === 'fee').reduce((n, l) => n + parseAmount(l.amount)!, 0n);
          const usageCharges = parseAmount(s.subtotal)! - fee;
          const ofDay = usage.filter((u) => u.date === date && inPlan.has(`${u.apiId}/${u.stage}`));
          events.push({
            id: createHash('sha256').update(`${key.id}|${planId}|${date}`).digest('hex').slice(0, 32),
            keyId: key.id,
            planId,
            date,
            calls: ofDay.reduce((n, u) => n + u.calls, 0),
            bytes: ofDay.reduce((n, u) => n + u.bytes, 0),
            amount: formatAmount(usageCharges - before, s.currency, true),
            currency: s.currency,
            stripeCustomerId: account?.stripeCustomerId ?? null,
          });
          before = usageCharges;
        }
      }
    }
    return events;
  }
}

function checkMonth(month: string): void {
  if (!MONTH.test(month)) throw new StoreError('TP_INVALID', `a month is YYYY-MM, not "${month}"`);
}

function previousDay(day: string): string {
  return utcDate(Date.parse(`${day}T00:00:00Z`) - 86_400_000);
}
