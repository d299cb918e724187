const QUESTION = 0x3f; // ?

/**
 * An IAM wildcard pattern, compiled once: `*` matches any run of characters (slashes included, possibly
 * none), `?` exactly one; every other character is literal and case-sensitive. The whole text must match.
 *
 * Matching is the greedy algorithm IAM uses (two pointers, backtracking only to the last `*`), stated
 * per segment: the pattern is split at its stars; the first segment must match at the start of the text,
 * the last at its end, and each segment between takes its leftmost place after the one before. A later
 * `*` can absorb whatever an earlier one could, so the leftmost place is never wrong and nothing is
 * retried. A middle segment without `?` is found with `indexOf`; one with `?` by bit-parallel
 * Shift-And, one pass over the text whatever the segment holds (a word per 32 characters of segment).
 * So a match costs about one pass over the text, bounded by the two-pointer O(text × pattern) worst
 * case, and allocates nothing. A RegExp of `[\s\S]*` alternations instead backtracks exponentially in
 * the number of stars, and let one authorizer policy hold the event loop for seconds.
 */
export class WildcardPattern {
  readonly source: string;
  private readonly head: string;
  private readonly tail: string;
  private readonly middle: readonly Segment[];
  /** Length of the shortest text that can match: every non-`*` character. */
  private readonly minLength: number;
  private readonly hasStar: boolean;
  /** Head and tail without `?` are compared natively (startsWith/endsWith). */
  private readonly literalEnds: boolean;

  constructor(source: string) {
    this.source = source;
    const segments = source.split('*');
    this.hasStar = segments.length > 1;
    // split yields at least one segment; '' stands for an empty head or tail.
    this.head = segments[0] ?? '';
    this.tail = this.hasStar ? (segments.at(-1) ?? '') : '';
    this.middle = segments.slice(1, -1).filter((s) => s !== '').map((s) => (s.includes('?') ? new MaskedSegment(s) : new LiteralSegment(s)));
    this.minLength = source.length - (segments.length - 1);
    this.literalEnds = !this.head.includes('?') && !this.tail.includes('?');
  }

  /** Whether the head matches at the start and the tail at `end` (the caller has checked the length). */
  private ends(text: string, end: number): boolean {
    if (this.literalEnds) return text.startsWith(this.head) && text.endsWith(this.tail);
    return segmentAt(this.head, text, 0) && segmentAt(this.tail, text, end);
  }

  matches(text: string): boolean {
    const n = text.length;
    if (!this.hasStar) return this.literalEnds ? text === this.source : n === this.head.length && segmentAt(this.head, text, 0);
    if (n < this.minLength) return false;
    const end = n - this.tail.length;
    if (!this.ends(text, end)) return false;
    let from = this.head.length;
    for (const segment of this.middle) {
      const at = segment.find(text, from, end);
      if (at < 0) return false;
      from = at + segment.length;
    }
    return true;
  }
}

/** One-off match; callers matching the same pattern repeatedly compile a WildcardPattern once. */
export function matchesWildcard(pattern: string, text: string): boolean {
  return new WildcardPattern(pattern).matches(text);
}

/** True when `segment` matches `text` at `at` (`?` matches any one character). */
function segmentAt(segment: string, text: string, at: number): boolean {
  for (let i = 0; i < segment.length; i++) {
    const c = segment.charCodeAt(i);
    if (c !== QUESTION && c !== text.charCodeAt(at + i)) return false;
  }
  return true;
}

interface Segment {
  readonly length: number;
  /** Leftmost index ≥ from where the segment matches and ends by `end`; -1 if none. */
  find(text: string, from: number, end: number): number;
}

class LiteralSegment implements Segment {
  readonly length: number;
  constructor(private readonly chars: string) {
    this.length = chars.length;
  }

  find(text: string, from: number, end: number): number {
    const at = text.indexOf(this.chars, from);
    return at >= 0 && at + this.length <= end ? at : -1;
  }
}

/**
 * A segment with `?`, found by Shift-And: bit i of the state says "the segment's first i+1 characters
 * end here", advanced for all i at once per text character. Bit i of a character's mask is set where the
 * segment holds that character or `?`. Masks of ASCII characters (what method ARNs are made of) sit in
 * a flat table; others in a map.
 */
class MaskedSegment implements Segment {
  readonly length: number;
  private readonly words: number;
  private readonly ascii: Uint32Array; // 128 masks of `words` words each
  private readonly other = new Map<number, Uint32Array>();
  /** The mask of a character the segment does not name: its `?` positions. */
  private readonly anyMask: Uint32Array;
  private readonly state: Uint32Array; // scratch, reused: matching never re-enters
  private readonly lastWord: number;
  private readonly lastBit: number;

  constructor(chars: string) {
    const words = Math.ceil(chars.length / 32);
    this.length = chars.length;
    this.words = words;
    this.state = new Uint32Array(words);
    this.anyMask = new Uint32Array(words);
    for (let i = 0; i < chars.length; i++) if (chars.charCodeAt(i) === QUESTION) setBit(this.anyMask, 0, i);
    this.ascii = new Uint32Array(128 * words);
    for (let c = 0; c < 128; c++) this.ascii.set(this.anyMask, c * words);
    for (let i = 0; i < chars.length; i++) {
      const c = chars.charCodeAt(i);
      if (c === QUESTION) continue;
      if (c < 128) {
        setBit(this.ascii, c * words, i);
      } else {
        let mask = this.other.get(c);
        if (!mask) this.other.set(c, (mask = Uint32Array.from(this.anyMask)));
        setBit(mask, 0, i);
      }
    }
    this.lastWord = (chars.length - 1) >>> 5;
    this.lastBit = 1 << ((chars.length - 1) & 31);
  }

  find(text: string, from: number, end: number): number {
    return this.words === 1 ? this.findShort(text, from, end) : this.findLong(text, from, end);
  }

  /** Segments of up to 32 characters: the state fits in one integer. */
  private findShort(text: string, from: number, end: number): number {
    const ascii = this.ascii;
    const anyMask = this.anyMask[0] ?? 0;
    const lastBit = this.lastBit;
    let state = 0;
    for (let t = from; t < end; t++) {
      const c = text.charCodeAt(t);
      const mask = (c < 128 ? ascii[c] : this.other.get(c)?.[0]) ?? anyMask;
      state = ((state << 1) | 1) & mask;
      if (state & lastBit) return t - this.length + 1;
    }
    return -1;
  }

  private findLong(text: string, from: number, end: number): number {
    const { state, words, ascii } = this;
    state.fill(0);
    for (let t = from; t < end; t++) {
      const c = text.charCodeAt(t);
      const mask = c < 128 ? null : (this.other.get(c) ?? this.anyMask);
      const base = c * words;
      let carry = 1; // a match may start at every character
      // Every index below is inside its table by construction; a word read as absent holds no bits.
      for (let w = 0; w < words; w++) {
        const s = state[w] ?? 0;
        state[w] = ((s << 1) | carry) & ((mask === null ? ascii[base + w] : mask[w]) ?? 0);
        carry = s >>> 31;
      }
      if ((state[this.lastWord] ?? 0) & this.lastBit) return t - this.length + 1;
    }
    return -1;
  }
}

/** Sets the bit of segment position `i` in the mask that starts at word `offset` of `masks`. */
function setBit(masks: Uint32Array, offset: number, i: number): void {
  const w = offset + (i >>> 5);
  masks[w] = (masks[w] ?? 0) | (1 << (i & 31));
}
