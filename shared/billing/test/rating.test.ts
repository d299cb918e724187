import { describe, expect, it } from 'vitest';
import { PriceVersion, rateMonth, statementsToCsv, type PriceVersionConfig } from '@turnpike/billing';
import type { RouteUsageRow } from '@turnpike/redis';

const price = (v: unknown): PriceVersionConfig => PriceVersion.parse(v);
const day = (d: number) => `2026-11-${String(d).padStart(2, '0')}`;
/** `calls` spread as one row per day from `from` to `to`. */
function daily(from: number, to: number, callsPerDay: number, route = 'GET /pets', stage = 'prod', bytes = 0): RouteUsageRow[] {
  const out: RouteUsageRow[] = [];
  for (let d = from; d <= to; d++) out.push({ date: day(d), apiId: 'shop', stage, route, calls: callsPerDay, bytes });
  return out;
}
const base = { keyId: 'k1', planId: 'p1', month: '2026-11', apiStages: ['shop/prod'] };
const FREE_THEN_2_MILLS = { currency: 'USD', effectiveFrom: '2026-01-01', rates: [{ tiers: [{ upTo: 10_000, price: '0' }, { price: '0.002' }] }] };

describe('rating a month of usage (hand-worked examples)', () => {
  it('$0.002 per call after 10,000 free calls: 25,000 calls cost 15,000 × 0.002 = 30.00', () => {
    const s = rateMonth({ ...base, versions: [price(FREE_THEN_2_MILLS)], usage: daily(1, 25, 1000) });
    expect(s.calls).toBe(25_000);
    expect(s.lines.map((l) => [l.description, l.quantity, l.unitPrice, l.amount])).toEqual([
      ['calls, tier 1–10,000', 10_000, '0', '0.00'],
      ['calls, tier 10,001+', 15_000, '0.002', '30.00'],
    ]);
    expect(s.total).toBe('30.00');
  });

  it('a price change on the 16th prices the days after it only, and tiers keep counting from the 1st', () => {
    // Days 1-15: 12,000 calls (10,000 free, 2,000 × 0.002 = 4.00); days 16-28: 13 × 1,000 at 0.0015 = 19.50.
    const versions = [price(FREE_THEN_2_MILLS), price({ currency: 'USD', effectiveFrom: '2026-11-16', rates: [{ tiers: [{ upTo: 10_000, price: '0' }, { price: '0.0015' }] }] })];
    const usage = [...daily(1, 15, 800), ...daily(16, 28, 1000)];
    const s = rateMonth({ ...base, versions, usage });
    expect(s.lines.map((l) => [l.priceVersion, l.quantity, l.amount])).toEqual([
      ['2026-01-01', 10_000, '0.00'],
      ['2026-01-01', 2_000, '4.00'],
      ['2026-11-16', 13_000, '19.50'],
    ]);
    expect(s.total).toBe('23.50');
    // The same usage rated before the change existed gives the same first half: past days never move.
    const before = rateMonth({ ...base, versions: versions.slice(0, 1), usage: daily(1, 15, 800) });
    expect(before.total).toBe('4.00');
  });

  it('volume tiers price every call by the tier the month reaches; route rates per 1000 calls; fee and transfer', () => {
    const v = price({
      currency: 'USD',
      effectiveFrom: '2026-11-01',
      monthlyFee: '49',
      perMegabyte: '0.10',
      rates: [
        { mode: 'volume', tiers: [{ upTo: 10_000, price: '0.003' }, { upTo: 100_000, price: '0.002' }, { price: '0.001' }] },
        { apiStage: 'shop/prod', route: 'POST /orders', unit: 'per1000', tiers: [{ price: '1.50' }] },
      ],
    });
    const usage = [...daily(1, 25, 1000, 'GET /pets', 'prod', 200_000), ...daily(1, 5, 500, 'POST /orders')];
    const s = rateMonth({ ...base, versions: [v], usage });
    expect(s.lines.map((l) => [l.kind, l.description, l.quantity, l.amount])).toEqual([
      ['fee', 'monthly fee', 1, '49.00'],
      ['calls', 'calls, volume 10,001–100,000', 25_000, '50.00'],
      ['transfer', 'data transferred (response bytes)', 5, '0.50'],
      ['calls', 'POST /orders on shop/prod', 2.5, '3.75'],
    ]);
    expect(s.total).toBe('103.25');
  });

  it('rounds the total once, half away from zero, to the currency minor unit', () => {
    const v = (p: string, currency = 'USD') => [price({ currency, effectiveFrom: '2026-11-01', rates: [{ tiers: [{ price: p }] }] })];
    const one = (calls: number) => [{ date: day(3), apiId: 'shop', stage: 'prod', route: 'GET /x', calls, bytes: 0 }];
    expect(rateMonth({ ...base, versions: v('0.0049'), usage: one(1) })).toMatchObject({ subtotal: '0.0049', total: '0.00' });
    expect(rateMonth({ ...base, versions: v('0.0049'), usage: one(3) })).toMatchObject({ subtotal: '0.0147', total: '0.01' });
    expect(rateMonth({ ...base, versions: v('0.005'), usage: one(1) })).toMatchObject({ total: '0.01' });
    expect(rateMonth({ ...base, versions: v('0.5', 'JPY'), usage: one(3) })).toMatchObject({ currency: 'JPY', total: '2' });
  });

  it('leaves other plans’ API stages out and shows calls made before any price as unpriced', () => {
    const v = [price({ ...FREE_THEN_2_MILLS, effectiveFrom: '2026-11-10' })];
    const usage = [...daily(8, 11, 10), { date: day(9), apiId: 'other', stage: 'prod', route: 'GET /x', calls: 99, bytes: 0 }];
    const s = rateMonth({ ...base, versions: v, usage });
    expect(s.calls).toBe(40);
    expect(s.lines.map((l) => [l.kind, l.quantity])).toEqual([
      ['unpriced', 20],
      ['calls', 20],
    ]);
  });

  it('is deterministic and renders as CSV', () => {
    const input = { ...base, versions: [price(FREE_THEN_2_MILLS)], usage: daily(1, 12, 1000) };
    const a = rateMonth(input);
    expect(rateMonth({ ...input, usage: [...input.usage].reverse() })).toEqual(a);
    const csv = statementsToCsv([a]);
    expect(csv.split('\r\n')[0]).toBe('keyId,planId,month,currency,kind,description,priceVersion,apiStage,route,tier,quantity,unit,unitPrice,amount');
    expect(csv).toContain('k1,p1,2026-11,USD,calls,"calls, tier 10,001+",2026-01-01,,,2,2000,call,0.002,4.000000000'.replace('4.000000000', '4.00'));
    expect(csv.trimEnd().split('\r\n').at(-1)).toBe('k1,p1,2026-11,USD,total,,,,,,,,,4.00');
  });

  it('refuses malformed prices with the field that is wrong', () => {
    const r = PriceVersion.safeParse({ currency: 'usd', effectiveFrom: '2026-11', rates: [{ tiers: [{ upTo: 10, price: '-1' }, { upTo: 5, price: '1' }] }] });
    expect(r.success).toBe(false);
    const paths = r.error!.issues.map((i) => i.path.join('.'));
    expect(paths).toEqual(expect.arrayContaining(['currency', 'effectiveFrom', 'rates.0.tiers.0.price', 'rates.0.tiers.1.upTo']));
  });
});
