import { describe, expect, it } from 'vitest';
import { normalizePath } from '../src/http/normalizePath.js';

const ok = (raw: string) => {
  const r = normalizePath(raw);
  if ('error' in r) throw new Error(`${raw}: ${r.error}`);
  return r;
};
const err = (raw: string) => {
  const r = normalizePath(raw);
  return 'error' in r ? r.error : null;
};

describe('normalizePath', () => {
  it('passes plain paths through unchanged', () => {
    expect(ok('/prod/pets/12')).toEqual({ segments: ['prod', 'pets', '12'], path: '/prod/pets/12' });
    expect(ok('/')).toEqual({ segments: [], path: '/' });
  });

  it('collapses empty segments and drops a trailing slash', () => {
    expect(ok('//a///b/').path).toBe('/a/b');
    expect(ok('/a/b/').segments).toEqual(['a', 'b']);
  });

  it('resolves literal dot segments', () => {
    expect(ok('/a/./b/../c').path).toBe('/a/c');
    expect(ok('/a/.well-known/x..y/...').segments).toEqual(['a', '.well-known', 'x..y', '...']);
  });

  it('refuses a path that climbs above the root', () => {
    expect(err('/..')).toMatch(/above the root/);
    expect(err('/a/../../etc/passwd')).toMatch(/above the root/);
  });

  it('refuses traversal-shaped segments instead of forwarding them', () => {
    for (const raw of ['/a/%2e%2E/c', '/a/b/%2E', '/a/.%2e/x', '/a/%2e./x', '/%2e%2e/x']) expect(err(raw), raw).toMatch(/encoded dot/);
    for (const raw of ['/a/..;/b', '/a/..;jsessionid=1/b', '/a/b;../c', '/a/..%2Fb', '/a/..%2fetc', '/a/..%5Cb', '/a/x%2F..', '/a/x%5C..%5Cy', '/a/%2e%2e%2fb']) {
      expect(err(raw), raw).toMatch(/traversal|encoded dot/);
    }
    expect(ok('/a/b;v=1/c').path).toBe('/a/b;v=1/c');
  });

  it('keeps an encoded slash inside its segment and re-encodes it for the upstream', () => {
    const r = ok('/files/a%2Fb');
    expect(r.segments).toEqual(['files', 'a/b']);
    expect(r.path).toBe('/files/a%2Fb');
    expect(ok('/x/a%5Cb').segments).toEqual(['x', 'a\\b']);
  });

  it('decodes unreserved characters and encodes canonically', () => {
    expect(ok('/caf%C3%A9/%7Euser').path).toBe('/caf%C3%A9/~user');
    expect(ok('/caf%C3%A9').segments).toEqual(['café']);
    expect(ok('/a%20b').path).toBe('/a%20b');
  });

  it('refuses invalid percent-encoding, non-UTF-8 bytes and control characters', () => {
    expect(err('/a%')).toMatch(/percent/);
    expect(err('/a%4')).toMatch(/percent/);
    expect(err('/a%zz')).toMatch(/percent/);
    expect(err('/a%FF')).toMatch(/UTF-8/);
    expect(err('/a%00b')).toMatch(/control/);
    expect(err('/a%0A')).toMatch(/control/);
    expect(err('a/b')).toMatch(/absolute/);
  });
});
