/**
 * A small bounded map whose entries also expire: a node's front for the shared policy cache and its
 * memo of verified JWTs. Eviction approximates least-recently-used with the second-chance (CLOCK)
 * rule: a hit only sets a flag, so the hot path never reorders the Map; when the map is full, entries
 * are looked at oldest first, a flagged one is moved to the back with its flag cleared, and the first
 * unflagged one goes.
 *
 * Keys are tokens, often JWTs of a kilobyte, each a new string per request: hashing a whole one for the
 * Map cost ~1.1 µs. A long key is looked up by its length, its first 24 characters (the policy cache's
 * namespace) and its last 48 (a JWT's signature, where tokens differ; their start is the issuer's same
 * header), and confirmed against the whole key kept in the slot. Two keys sharing that form share a
 * slot: the later one replaces the earlier, a miss but never a wrong answer.
 */
interface Slot<V> {
  key: string;
  value: V;
  used: boolean;
}

/** Keys up to this length are their own lookup form. */
const WHOLE_KEY = 96;

function lookupForm(key: string): string {
  return key.length <= WHOLE_KEY ? key : `${key.length}:${key.slice(0, 24)}${key.slice(-48)}`;
}

export class BoundedLru<V extends { readonly expiresAt: number }> {
  private readonly map = new Map<string, Slot<V>>();

  constructor(readonly maxEntries: number) {
    if (!Number.isInteger(maxEntries) || maxEntries < 1) throw new RangeError(`maxEntries must be a positive integer (got ${maxEntries})`);
  }

  get size(): number {
    return this.map.size;
  }

  /** The live entry for `key`, or undefined (an expired entry is dropped). */
  get(key: string, now: number): V | undefined {
    const form = lookupForm(key);
    const slot = this.map.get(form);
    if (slot === undefined || slot.key !== key) return undefined;
    if (slot.value.expiresAt <= now) {
      this.map.delete(form);
      return undefined;
    }
    slot.used = true;
    return slot.value;
  }

  set(key: string, value: V): void {
    const form = lookupForm(key);
    const slot = this.map.get(form);
    if (slot !== undefined) {
      slot.key = key;
      slot.value = value;
      slot.used = true;
      return;
    }
    this.map.set(form, { key, value, used: false });
    if (this.map.size > this.maxEntries) this.evictOne();
  }

  private evictOne(): void {
    // Moving a flagged slot to the back makes the iteration reach it again, unflagged: this ends.
    for (const [key, slot] of this.map) {
      this.map.delete(key);
      if (!slot.used) return;
      slot.used = false;
      this.map.set(key, slot);
    }
  }
}
