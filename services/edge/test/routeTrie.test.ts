import { describe, expect, it } from 'vitest';
import { RouteTrie } from '../src/router/routeTrie.js';
import type { RouteMethod } from '@turnpike/config';

function trie(keys: string[]) {
  const t = new RouteTrie<string>();
  for (const k of keys) {
    const [m, p] = k.split(' ') as [RouteMethod, string];
    t.add(m, p, k);
  }
  return t;
}
const seg = (p: string) => (p === '/' ? [] : p.slice(1).split('/'));

describe('route precedence', () => {
  const keys = ['ANY /{proxy+}', 'GET /pets/{id}', 'GET /pets/mine', 'GET /pets', 'POST /pets', 'GET /pets/{id}/toys/{proxy+}', 'GET /', 'DELETE /pets/{id}'];
  const orders = [keys, [...keys].reverse(), [...keys].sort()];

  it.each(orders.map((o, i) => [i, o]))('literal > {param} > {proxy+} whatever the definition order (%i)', (_, order) => {
    const t = trie(order as string[]);
    const m = (method: string, path: string) => {
      const r = t.match(method, seg(path), 0);
      return r && 'route' in r ? { route: r.route, params: r.params } : r;
    };
    expect(m('GET', '/pets/mine')).toEqual({ route: 'GET /pets/mine', params: null });
    expect(m('GET', '/pets/7')).toEqual({ route: 'GET /pets/{id}', params: { id: '7' } });
    expect(m('GET', '/pets')).toEqual({ route: 'GET /pets', params: null });
    expect(m('GET', '/')).toEqual({ route: 'GET /', params: null });
    expect(m('GET', '/pets/7/toys/a/b')).toEqual({ route: 'GET /pets/{id}/toys/{proxy+}', params: { id: '7', proxy: 'a/b' } });
    // A method the specific route lacks falls through to the greedy ANY route.
    expect(m('PUT', '/pets/7')).toEqual({ route: 'ANY /{proxy+}', params: { proxy: 'pets/7' } });
    expect(m('GET', '/other/x')).toEqual({ route: 'ANY /{proxy+}', params: { proxy: 'other/x' } });
  });

  it('backtracks from a literal branch that dead-ends to a {param} branch', () => {
    const t = trie(['GET /a/b/c', 'GET /a/{x}/d']);
    const r = t.match('GET', ['a', 'b', 'd'], 0);
    expect(r && 'route' in r && r.route).toBe('GET /a/{x}/d');
    expect(r && 'route' in r && r.params).toEqual({ x: 'b' });
  });

  it('reports Allow for a known path with an unknown method', () => {
    const t = trie(['GET /pets', 'POST /pets', 'GET /pets/{id}']);
    expect(t.match('DELETE', ['pets'], 0)).toEqual({ allow: 'GET, POST, HEAD' });
    expect(t.match('GET', ['nothing'], 0)).toBeNull();
  });

  it('serves HEAD with the GET route unless a HEAD or ANY route exists', () => {
    const t = trie(['GET /pets', 'HEAD /pets/{id}', 'GET /pets/{id}', 'ANY /files', 'POST /orders']);
    expect(t.match('HEAD', ['pets'], 0)).toMatchObject({ route: 'GET /pets' });
    expect(t.match('HEAD', ['pets', '1'], 0)).toMatchObject({ route: 'HEAD /pets/{id}' });
    expect(t.match('HEAD', ['files'], 0)).toMatchObject({ route: 'ANY /files' });
    expect(t.match('HEAD', ['orders'], 0)).toEqual({ allow: 'POST' });
  });

  it('matches from an offset (base path and stage already consumed)', () => {
    const t = trie(['GET /pets/{id}']);
    const r = t.match('GET', ['v1', 'prod', 'pets', '3'], 2);
    expect(r && 'route' in r && r.params).toEqual({ id: '3' });
  });

  it('refuses two parameter names at one position and duplicate routes', () => {
    expect(() => trie(['GET /pets/{id}', 'GET /pets/{name}/x'])).toThrow(/conflicts/);
    expect(() => trie(['GET /pets', 'GET /pets'])).toThrow(/twice/);
  });
});
