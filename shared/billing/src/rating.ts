import { formatAmount, parseAmount, roundToMinor, times, type Nanos } from './money.js';
import type { RouteUsageRow } from '@turnpike/redis';
import { rateFor, versionOn, type PriceVersionConfig, type RateConfig } from './price.js';

export interface StatementLine {
  kind: 'fee' | 'calls' | 'transfer' | 'unpriced';
  description: string;
  /** The price version (its effectiveFrom) the line was priced with. */
  priceVersion: string | null;
  apiStage: string | null;
  route: string | null;
  /** 1-based tier of the rate, for call lines. */
  tier: number | null;
  quantity: number;
  unit: 'month' | 'call' | '1000 calls' | 'MB' | 'call (no price)';
  unitPrice: string;
  /** Exact, before the statement total is rounded. */
  amount: string;
}

/** A key's charges for one month on one usage plan. Deterministic: the same usage and prices give the same statement. */
export interface Statement {
  keyId: string;
  planId: string;
  month: string;
  currency: string;
  lines: StatementLine[];
  calls: number;
  bytes: number;
  /** Sum of the lines, exact. */
  subtotal: string;
  /** Rounded half away from zero to the currency's minor unit. */
  total: string;
}

export interface RateInput {
  keyId: string;
  planId: string;
  /** `YYYY-MM` */
  month: string;
  /** The plan's API stages (`apiId/stage`): usage elsewhere belongs to other plans. */
  apiStages: readonly string[];
  versions: readonly PriceVersionConfig[];
  usage: readonly RouteUsageRow[];
}

interface LineAcc {
  line: Omit<StatementLine, 'quantity' | 'amount'>;
  quantity: number;
  price: Nanos;
  per: number;
}

/**
 * Rates one month of a key's usage on one plan. Every day's usage is priced with the version in effect
 * that day; tier positions run from the first day of the month whatever the version, so a price change
 * mid-month neither restarts free tiers nor re-prices the days before it.
 */
export function rateMonth(input: RateInput): Statement {
  const { month } = input;
  const inPlan = new Set(input.apiStages);
  const rows = input.usage
    .filter((u) => u.date.startsWith(`${month}-`) && inPlan.has(`${u.apiId}/${u.stage}`) && (u.calls > 0 || u.bytes > 0))
    .sort((a, b) => a.date.localeCompare(b.date) || `${a.apiId}/${a.stage} ${a.route}`.localeCompare(`${b.apiId}/${b.stage} ${b.route}`));
  const firstDay = `${month}-01`;
  const lastDay = lastDayOf(month);
  const currency = (versionOn(input.versions, lastDay) ?? input.versions[0])?.currency ?? 'USD';

  const lines = new Map<string, LineAcc>();
  const add = (key: string, make: () => LineAcc['line'], price: Nanos, per: number, quantity: number) => {
    let acc = lines.get(key);
    if (acc === undefined) lines.set(key, (acc = { line: make(), quantity: 0, price, per }));
    acc.quantity += quantity;
  };

  // Month totals per rate selector, for volume pricing (the tier the whole month reaches).
  const totals = new Map<string, number>();
  const priced = rows.map((u) => {
    const version = versionOn(input.versions, u.date);
    const apiStage = `${u.apiId}/${u.stage}`;
    const match = version ? rateFor(version, apiStage, u.route) : null;
    const selector = match ? selectorOf(match.rate) : null;
    if (selector !== null) totals.set(selector, (totals.get(selector) ?? 0) + u.calls);
    return { u, version, apiStage, match, selector };
  });

  const position = new Map<string, number>();
  for (const { u, version, apiStage, match, selector } of priced) {
    if (version === null || match === null || selector === null) {
      add(`unpriced ${apiStage} ${u.route}`, () => ({ kind: 'unpriced', description: `${u.route} on ${apiStage}: no price in effect`, priceVersion: version?.effectiveFrom ?? null, apiStage, route: u.route, tier: null, unit: 'call (no price)', unitPrice: '0' }), 0n, 1, u.calls);
    } else {
      const rate = match.rate;
      const per = rate.unit === 'per1000' ? 1000 : 1;
      const unit = rate.unit === 'per1000' ? '1000 calls' : 'call';
      const start = position.get(selector) ?? 0;
      position.set(selector, start + u.calls);
      const pieces = rate.mode === 'volume' ? volumeTier(rate, totals.get(selector)!, u.calls) : graduated(rate, start, u.calls);
      for (const { tier, config: t, calls } of pieces) {
        add(
          `calls ${version.effectiveFrom} ${selector} ${tier}`,
          () => ({ kind: 'calls', description: describeRate(rate, tier), priceVersion: version.effectiveFrom, apiStage: rate.apiStage ?? null, route: rate.route ?? null, tier: tier + 1, unit, unitPrice: t.price }),
          parseAmount(t.price)!,
          per,
          calls,
        );
      }
    }
    if (version?.perMegabyte && u.bytes > 0) {
      add(`transfer ${version.effectiveFrom}`, () => ({ kind: 'transfer', description: 'data transferred (response bytes)', priceVersion: version.effectiveFrom, apiStage: null, route: null, tier: null, unit: 'MB', unitPrice: version.perMegabyte! }), parseAmount(version.perMegabyte)!, 1_000_000, u.bytes);
    }
  }

  const out: StatementLine[] = [];
  const feeVersion = versionOn(input.versions, firstDay) ?? input.versions.filter((v) => v.effectiveFrom <= lastDay && v.effectiveFrom >= firstDay).sort((a, b) => a.effectiveFrom.localeCompare(b.effectiveFrom))[0];
  let subtotal = 0n;
  if (feeVersion?.monthlyFee && parseAmount(feeVersion.monthlyFee)! > 0n) {
    const fee = parseAmount(feeVersion.monthlyFee)!;
    subtotal += fee;
    out.push({ kind: 'fee', description: 'monthly fee', priceVersion: feeVersion.effectiveFrom, apiStage: null, route: null, tier: null, quantity: 1, unit: 'month', unitPrice: feeVersion.monthlyFee, amount: formatAmount(fee, currency, true) });
  }
  for (const acc of lines.values()) {
    // Transfer lines count bytes; they are shown in MB.
    const isTransfer = acc.line.kind === 'transfer';
    const amount = times(acc.price, acc.quantity, acc.per);
    subtotal += amount;
    out.push({ ...acc.line, quantity: isTransfer ? Number((acc.quantity / 1_000_000).toFixed(6)) : acc.per === 1000 ? acc.quantity / 1000 : acc.quantity, amount: formatAmount(amount, currency, true) });
  }
  return {
    keyId: input.keyId,
    planId: input.planId,
    month,
    currency,
    lines: out,
    calls: rows.reduce((n, u) => n + u.calls, 0),
    bytes: rows.reduce((n, u) => n + u.bytes, 0),
    subtotal: formatAmount(subtotal, currency, true),
    total: formatAmount(roundToMinor(subtotal, currency), currency),
  };
}

function selectorOf(rate: RateConfig): string {
  return `${rate.apiStage ?? '*'}|${rate.route ?? '*'}`;
}

/** Calls priced at one tier: its index in the rate (0-based) and its configuration. */
interface TierPiece {
  tier: number;
  config: RateConfig['tiers'][number];
  calls: number;
}

/** Splits `calls` starting at month position `start` over the tiers they fall in. */
function graduated(rate: RateConfig, start: number, calls: number): TierPiece[] {
  const out: TierPiece[] = [];
  let pos = start;
  let left = calls;
  for (const [tier, config] of rate.tiers.entries()) {
    if (left <= 0) break;
    const upTo = config.upTo ?? Infinity;
    if (pos >= upTo) continue;
    const n = Math.min(left, upTo - pos);
    out.push({ tier, config, calls: n });
    pos += n;
    left -= n;
  }
  return out;
}

/** All `calls` at the tier the month's `total` reaches (the last tier, without upTo, past the others). */
function volumeTier(rate: RateConfig, total: number, calls: number): TierPiece[] {
  for (const [tier, config] of rate.tiers.entries()) if (config.upTo === undefined || total <= config.upTo) return [{ tier, config, calls }];
  const last = rate.tiers.at(-1);
  return last === undefined ? [] : [{ tier: rate.tiers.length - 1, config: last, calls }];
}

function describeRate(rate: RateConfig, tier: number): string {
  const where = rate.route ? `${rate.route} on ${rate.apiStage}` : rate.apiStage ? `calls on ${rate.apiStage}` : 'calls';
  if (rate.tiers.length === 1) return where;
  // Every tier but the last has upTo (the schema checks it): a tier starts one past the one before.
  const below = rate.tiers[tier - 1]?.upTo;
  const from = below === undefined ? 1 : below + 1;
  const to = rate.tiers[tier]?.upTo;
  const range = to === undefined ? `${from.toLocaleString('en-US')}+` : `${from.toLocaleString('en-US')}–${to.toLocaleString('en-US')}`;
  return `${where}, ${rate.mode === 'volume' ? 'volume' : 'tier'} ${range}`;
}

/** `YYYY-MM-DD` of the month's last day. */
export function lastDayOf(month: string): string {
  const [y, m] = month.split('-').map(Number) as [number, number];
  return new Date(Date.UTC(y, m, 0)).toISOString().slice(0, 10);
}
