/**
 * Money as integer nanos (10⁻⁹ of the currency unit) in a bigint: a price of $0.002 per call times any
 * number of calls is exact, and sums never drift the way binary floating point does. Amounts are
 * rounded once, to the currency's minor unit, when a statement is totalled.
 */
export type Nanos = bigint;

const SCALE = 9;
const ONE = 10n ** BigInt(SCALE);
const DECIMAL = /^(\d{1,15})(?:\.(\d{1,9}))?$/;

/** Parses a non-negative decimal string ("0.002", "49", "12.50"); null when it is not one. */
export function parseAmount(text: string): Nanos | null {
  const m = DECIMAL.exec(text);
  const [, whole, fraction = ''] = m ?? [];
  if (whole === undefined) return null;
  return BigInt(whole) * ONE + BigInt(fraction.padEnd(SCALE, '0'));
}

/** ISO 4217 minor units of the currencies that do not use two; every other currency uses two. */
const MINOR_UNITS: Record<string, number> = { JPY: 0, KRW: 0, VND: 0, CLP: 0, ISK: 0, BHD: 3, KWD: 3, OMR: 3, JOD: 3, TND: 3 };

export function minorUnits(currency: string): number {
  return MINOR_UNITS[currency] ?? 2;
}

/** Rounds half away from zero to the currency's minor unit. */
export function roundToMinor(amount: Nanos, currency: string): Nanos {
  const step = 10n ** BigInt(SCALE - minorUnits(currency));
  const half = step / 2n;
  const sign = amount < 0n ? -1n : 1n;
  const abs = amount * sign;
  return sign * (((abs + half) / step) * step);
}

/** "12.50" for the currency's minor unit (after rounding), or every significant digit with `exact`. */
export function formatAmount(amount: Nanos, currency: string, exact = false): string {
  const v = exact ? amount : roundToMinor(amount, currency);
  const sign = v < 0n ? '-' : '';
  const abs = v < 0n ? -v : v;
  const whole = abs / ONE;
  let frac = (abs % ONE).toString().padStart(SCALE, '0');
  if (exact) frac = frac.replace(/0+$/, '').padEnd(minorUnits(currency), '0');
  else frac = frac.slice(0, minorUnits(currency));
  return `${sign}${whole}${frac ? `.${frac}` : ''}`;
}

/** `unitPrice × quantity / per` exactly (nanos are fine-grained enough that per-1000 prices stay exact to 10⁻¹²). */
export function times(unitPrice: Nanos, quantity: number | bigint, per = 1): Nanos {
  return (unitPrice * BigInt(quantity)) / BigInt(per);
}
