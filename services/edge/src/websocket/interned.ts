/** At most this many distinct strings are kept per interner; past it, strings are used as they come. */
const MAX_INTERNED = 1024;

/**
 * One shared string per distinct header value (Host, User-Agent) instead of one per connection. Bounded:
 * clients choose these values, so a stream of distinct ones must not grow the table (it stops adding).
 */
export class Interned {
  private readonly strings = new Map<string, string>();

  constructor(private readonly normalize: (raw: string) => string) {}

  of(raw: string): string {
    const known = this.strings.get(raw);
    if (known !== undefined) return known;
    const value = this.normalize(raw);
    if (this.strings.size < MAX_INTERNED) this.strings.set(raw, value);
    return value;
  }
}
