/**
 * A small bounded map whose entries also expire: a node's front for the shared policy cache and its
 * memo of verified JWTs. Eviction approximates least-recently-used with the second-chance (CLOCK)
 * rule: a hit only sets a flag, so the hot path never reorders the Map; when the map is full, entries
 * are looked at oldest first, a flagged one is moved to the back with its flag cleared, and the first
 * unflagged one goes.
 */
interface Slot<V> {
  value: V;
  used: boolean;
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
    const slot = this.map.get(key);
    if (slot === undefined) return undefined;
    if (slot.value.expiresAt <= now) {
      this.map.delete(key);
      return undefined;
    }
    slot.used = true;
    return slot.value;
  }

  set(key: string, value: V): void {
    const slot = this.map.get(key);
    if (slot !== undefined) {
      slot.value = value;
      slot.used = true;
      return;
    }
    this.map.set(key, { value, used: false });
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
