export type QuotaPeriodUnit = 'DAY' | 'WEEK' | 'MONTH';

export interface QuotaPeriod {
  /** Names the period in Redis keys: `2026-11-26`, `2026-W48`, `2026-11`. */
  readonly id: string;
  readonly startsAt: number;
  readonly endsAt: number;
}

const DAY_MS = 86_400_000;

/**
 * The quota period containing `now`, in UTC. Weeks are ISO weeks (Monday to Sunday), months calendar
 * months. Every node computes the same id from its clock, so the counter key rolls over by itself.
 */
export function quotaPeriod(unit: QuotaPeriodUnit, now: number): QuotaPeriod {
  const d = new Date(now);
  const y = d.getUTCFullYear();
  const m = d.getUTCMonth();
  const dayStart = Date.UTC(y, m, d.getUTCDate());
  switch (unit) {
    case 'DAY':
      return { id: utcDate(dayStart), startsAt: dayStart, endsAt: dayStart + DAY_MS };
    case 'WEEK': {
      const weekday = (d.getUTCDay() + 6) % 7; // Monday = 0
      const startsAt = dayStart - weekday * DAY_MS;
      // The ISO week-numbering year is the year of the week's Thursday.
      const thursday = new Date(startsAt + 3 * DAY_MS);
      const isoYear = thursday.getUTCFullYear();
      const week = Math.floor((thursday.getTime() - Date.UTC(isoYear, 0, 1)) / (7 * DAY_MS)) + 1;
      return { id: `${isoYear}-W${String(week).padStart(2, '0')}`, startsAt, endsAt: startsAt + 7 * DAY_MS };
    }
    case 'MONTH':
      return { id: `${y}-${String(m + 1).padStart(2, '0')}`, startsAt: Date.UTC(y, m, 1), endsAt: Date.UTC(y, m + 1, 1) };
  }
}

/** `YYYY-MM-DD` of a UTC instant: the day usage is metered under. */
export function utcDate(ms: number): string {
  return new Date(ms).toISOString().slice(0, 10);
}
