import { describe, expect, it } from 'vitest';
import { WildcardPattern, compilePolicy, isAllowed, reducePolicy } from '@turnpike/edge/internals';

/**
 * Threat: an authorizer's policy (which may echo client input) or a client's path makes policy matching
 * backtrack, holding the edge's event loop for seconds per request (a 7-wildcard Resource against an
 * 800-character path took 32 s when wildcards were compiled to RegExp alternations).
 * Expected: every match is bounded by O(path × pattern), in practice linear, and ends under 1 ms for
 * paths of 8 KB (more than the request line the edge accepts).
 */
const ARN = 'arn:aws:execute-api:eu-west-1:123456789012:shop/prod/GET/';
const allowing = (resource: string) => compilePolicy(reducePolicy({ Version: '2012-10-17', Statement: [{ Effect: 'Allow', Action: 'execute-api:Invoke', Resource: resource }] }));

/** Mean milliseconds per evaluation over `runs` evaluations, after a warm-up. */
function meanMs(fn: () => unknown, runs = 1000): number {
  for (let i = 0; i < 50; i++) fn();
  const t0 = process.hrtime.bigint();
  for (let i = 0; i < runs; i++) fn();
  return Number(process.hrtime.bigint() - t0) / 1e6 / runs;
}

// [name, pattern, path below the ARN]. None matches; most match at both ends, so that the search in
// between runs to its end rather than failing on the first or last character.
const a = (n: number) => 'a'.repeat(n);
const worstCases: [string, string, string][] = [
  ['7 wildcards, 800-char path (the reported 32 s case)', `${ARN}${'*a'.repeat(7)}*b`, a(800)],
  ['5 wildcards, 2 KB path (119 ms per request before)', `arn:aws:execute-api:*${'*a'.repeat(5)}*b`, a(2048)],
  ['7 wildcards, an absent segment between, 800-char path', `${ARN}*${'a*'.repeat(7)}b*`, a(800)],
  ['64 wildcards, 8 KB path', `*${'a*'.repeat(64)}b*`, a(8192)],
  ['long literal after the last star, 8 KB path', `*${a(256)}b`, a(8192)],
  ['long literal between stars, 8 KB path', `*${a(256)}b*`, a(8192)],
  ['? runs between stars, 8 KB path', `*${'?'.repeat(32)}b*`, a(8192)],
  ['? and literals between stars, 8 KB path', `*${'a?'.repeat(16)}b*a`, a(8192)],
  ['ARN-shaped: a star per ARN field and path segment', 'arn:*:*:*:*:*/*/*/*/*/*/*/*/*/*/*/missing/*/x', `${'s/'.repeat(4096)}x`],
  ['ARN-shaped: wildcard stage and method, deep path', `arn:aws:execute-api:*:*:shop/*/*/${'*/'.repeat(32)}missing/*`, `${'seg/'.repeat(2048)}`],
  ['client path full of wildcard characters', `${ARN}${'*?'.repeat(8)}*x*`, `${'*?'.repeat(4096)}`],
];

describe('authorizer policy matching is linear (no ReDoS)', () => {
  it.each(worstCases)('%s: under 1 ms per match', (_name, pattern, path) => {
    const policy = allowing(pattern);
    const arn = ARN + path;
    expect(isAllowed(policy, arn)).toBe(false);
    // The bound is about complexity, not speed: idle, the slowest of these takes under 0.1 ms, which
    // leaves a wide margin on a loaded 2-core machine, while a backtracking matcher misses it by orders of
    // magnitude.
    const ms = meanMs(() => isAllowed(policy, arn));
    if (process.env.TP_PRINT) console.log(_name, ms);
    expect(ms).toBeLessThan(1);
  });

  it('a policy with many statements of many wildcards still evaluates in under 1 ms', () => {
    const statements = Array.from({ length: 50 }, (_, i) => ({ Effect: i % 5 ? 'Allow' : 'Deny', Action: 'execute-api:Invoke', Resource: `${ARN}${'*a'.repeat(10)}*${i}` }));
    const policy = compilePolicy(reducePolicy({ Statement: statements }));
    const arn = ARN + a(2048);
    expect(isAllowed(policy, arn)).toBe(false);
    expect(meanMs(() => isAllowed(policy, arn), 200)).toBeLessThan(1);
  });
});

/** A seeded generator of integers below n (mulberry32), so that a failure names a reproducible case. */
function random(seed: number): (n: number) => number {
  return (n) => {
    seed = (seed + 0x6d2b79f5) | 0;
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) % n;
  };
}

describe('the wildcard matcher means what IAM means', () => {
  // The RegExp translation the matcher replaced is the oracle: correct, only slow on large inputs.
  const oracle = (pattern: string, text: string) =>
    new RegExp(`^${[...pattern].map((ch) => (ch === '*' ? '[\\s\\S]*' : ch === '?' ? '[\\s\\S]' : ch.replace(/[\\^$.|+()[\]{}]/g, '\\$&'))).join('')}$`).test(text);

  /** Checks the matcher against the oracle on `count` generated cases; resolves how many matched. */
  function agreement(count: number, generate: () => [pattern: string, text: string]): number {
    let matched = 0;
    for (let i = 0; i < count; i++) {
      const [pattern, text] = generate();
      const expected = oracle(pattern, text);
      if (new WildcardPattern(pattern).matches(text) !== expected) expect.fail(`pattern ${JSON.stringify(pattern)} text ${JSON.stringify(text)}: expected ${expected}`);
      if (expected) matched++;
    }
    return matched;
  }

  it('agrees with the RegExp translation on 20,000 random small patterns and texts', () => {
    const rnd = random(42);
    const word = (alphabet: string, max: number) => Array.from({ length: rnd(max + 1) }, () => alphabet[rnd(alphabet.length)]).join('');
    const matched = agreement(20_000, () => [word('ab/*?', 8), word('ab/', 10)]);
    // Both outcomes are well represented, so the agreement means something.
    expect(matched).toBeGreaterThan(2000);
    expect(matched).toBeLessThan(18_000);
  });

  it('agrees with it on long segments of `?` and literals (more than 32 characters between stars)', () => {
    const rnd = random(7);
    const word = (alphabet: string, length: number) => Array.from({ length }, () => alphabet[rnd(alphabet.length)]).join('');
    const matched = agreement(3000, () => {
      const text = word('ab', 60 + rnd(120));
      // A window of the text with some characters turned into `?`, between stars: often present.
      const start = rnd(40);
      const segment = [...text.slice(start, start + 33 + rnd(40))].map((ch) => (rnd(3) ? ch : '?')).join('');
      return [`${rnd(2) ? '' : 'a'}*${rnd(4) ? segment : word('ab?', segment.length)}*${rnd(2) ? '' : 'b'}`, text];
    });
    expect(matched).toBeGreaterThan(300);
    expect(matched).toBeLessThan(2700);
  });

  it('handles characters beyond ASCII', () => {
    expect(new WildcardPattern('*ä?ö*').matches('xxäüöyy')).toBe(true);
    expect(new WildcardPattern('*ä?ö*').matches('xxäüüyy')).toBe(false);
    expect(new WildcardPattern(`*${'ä?'.repeat(20)}*`).matches(`x${'äü'.repeat(20)}y`)).toBe(true);
    expect(new WildcardPattern(`*${'ä?'.repeat(20)}*`).matches(`x${'aü'.repeat(20)}y`)).toBe(false);
  });

  it.each([
    ['*', '', true],
    ['?', '', false],
    ['a*', 'a', true],
    ['*a', 'ba', true],
    ['*a', 'ab', false],
    ['a*a', 'a', false], // head and tail may not overlap
    ['a*a', 'aa', true],
    ['**', 'x', true],
    ['*?*', '', false],
    ['a*b*c', 'abbc', true],
    ['a*b*c', 'acb', false],
    ['x*', 'X', false], // case-sensitive
  ])('%j on %j → %s', (pattern, text, expected) => {
    expect(new WildcardPattern(pattern).matches(text)).toBe(expected);
  });
});
