import { z } from 'zod';
import { parseAmount } from './money.js';

/**
 * The price of a usage plan, as one version that takes effect on a UTC day. A plan's prices are a list
 * of versions; a new version never rewrites the days before its `effectiveFrom`, so a statement for a
 * past period is the same whenever it is computed.
 *
 *   currency: USD
 *   effectiveFrom: 2026-11-01
 *   monthlyFee: "49.00"              # per key on the plan, for every month it is in effect (pro rata: no)
 *   perMegabyte: "0.0001"            # response bytes, per 10⁶ bytes (optional)
 *   rates:                           # the most specific rate that matches a call prices it
 *     - { tiers: [{ upTo: 10000, price: "0" }, { price: "0.002" }] }                      # every API stage
 *     - { apiStage: shop/prod, route: "POST /orders", unit: per1000, tiers: [{ price: "1.50" }] }
 *
 * Tiers count calls from the first day of the month across every version in effect that month.
 * `graduated` (default): each call is priced by the tier its position in the month falls in (the first
 * 10,000 free, the rest at 0.002). `volume`: every call of the month is priced by the tier the month's
 * total reaches.
 */
const Amount = z.string().refine((s) => parseAmount(s) !== null, { message: 'an amount is a non-negative decimal string such as "0.002" (at most 9 decimals)' });

const Tier = z.strictObject({
  /** Calls up to and including this position in the month; absent on the last tier (no upper bound). */
  upTo: z.number().int().positive().optional(),
  /** Price per unit (per call, or per 1000 calls with `unit: per1000`). */
  price: Amount,
});

export const Rate = z
  .strictObject({
    /** `apiId/stage`; absent: every API stage of the plan. */
    apiStage: z.string().regex(/^[^/\s]+\/[^/\s]+$/, 'apiStage is API_ID/STAGE').optional(),
    /** A route key (`GET /pets/{id}`); needs apiStage. */
    route: z.string().regex(/^[A-Z]+ \/\S*$/, 'route is a route key such as "GET /pets/{id}"').optional(),
    unit: z.enum(['call', 'per1000']).default('call'),
    mode: z.enum(['graduated', 'volume']).default('graduated'),
    tiers: z.array(Tier).min(1),
  })
  .superRefine((r, ctx) => {
    if (r.route && !r.apiStage) ctx.addIssue({ code: 'custom', path: ['route'], message: 'a route rate needs apiStage' });
    r.tiers.forEach((t, i) => {
      const last = i === r.tiers.length - 1;
      if (last && t.upTo !== undefined) ctx.addIssue({ code: 'custom', path: ['tiers', i, 'upTo'], message: 'the last tier has no upTo (it covers every call beyond the others)' });
      if (!last && t.upTo === undefined) ctx.addIssue({ code: 'custom', path: ['tiers', i, 'upTo'], message: 'every tier but the last needs upTo' });
      const prev = r.tiers[i - 1]?.upTo;
      if (prev !== undefined && t.upTo !== undefined && t.upTo <= prev) ctx.addIssue({ code: 'custom', path: ['tiers', i, 'upTo'], message: 'tiers are in increasing upTo order' });
    });
  });

export const PriceVersion = z.strictObject({
  currency: z.string().regex(/^[A-Z]{3}$/, 'currency is an ISO 4217 code such as USD'),
  effectiveFrom: z.string().regex(/^\d{4}-\d{2}-\d{2}$/, 'effectiveFrom is a UTC day, YYYY-MM-DD'),
  monthlyFee: Amount.optional(),
  perMegabyte: Amount.optional(),
  rates: z.array(Rate).default([]),
});

export type RateConfig = z.output<typeof Rate>;
export type PriceVersionConfig = z.output<typeof PriceVersion>;

/** The version in effect on `day`: the latest whose effectiveFrom is on or before it. */
export function versionOn(versions: readonly PriceVersionConfig[], day: string): PriceVersionConfig | null {
  let best: PriceVersionConfig | null = null;
  for (const v of versions) if (v.effectiveFrom <= day && (best === null || v.effectiveFrom > best.effectiveFrom)) best = v;
  return best;
}

/** The rate of `version` that prices a call on `apiStage` and `route`: a route rate, else the API stage's, else the plan-wide one. */
export function rateFor(version: PriceVersionConfig, apiStage: string, route: string): { rate: RateConfig; index: number } | null {
  let found: { rate: RateConfig; index: number; score: number } | null = null;
  version.rates.forEach((rate, index) => {
    if (rate.apiStage !== undefined && rate.apiStage !== apiStage) return;
    if (rate.route !== undefined && rate.route !== route) return;
    const score = (rate.apiStage ? 1 : 0) + (rate.route ? 2 : 0);
    if (found === null || score > found.score) found = { rate, index, score };
  });
  return found;
}
