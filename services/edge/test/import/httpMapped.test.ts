import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Edge } from '@turnpike/edge';
import { freePort, startUpstream, type Upstream } from '@turnpike/testing';
import { json, rawRequest, startEdge } from '../fixtures.js';

/**
 * The non-proxy http integration's upstream exchange (bufferedExchange.ts): a body in several chunks or
 * with a byte order mark is mapped whole, headers given more than once are joined, the status selects the
 * integration response, and an upstream that cannot be reached or does not answer in time is 502 / 504.
 */
let upstream: Upstream;
let edge: Edge;
let deadPort: number;

beforeAll(async () => {
  upstream = await startUpstream((req, res) => {
    if (req.url!.startsWith('/hang')) return; // never answers
    res.setHeader('content-type', 'application/json');
    if (req.url === '/chunked') {
      res.write('{"name": "in');
      setImmediate(() => res.end(' parts", "n": 2}'));
      return;
    }
    if (req.url === '/bom') return res.end(Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from('{"name": "bom"}')]));
    res.statusCode = 404;
    res.setHeader('x-many', ['a', 'b']);
    res.end('{"name": "missing"}');
  });
  deadPort = await freePort();
  const route = (uri: string, extra = '') => `
        integration:
          type: http
          uri: "${uri}"${extra}
          mapping:
            responses:
              - statusCode: 200
                responseTemplates: { application/json: '{"name": "$input.path(''$.name'')", "raw": $input.body}' }
              - statusCode: 410
                selectionPattern: "4\\\\d\\\\d"
                responseParameters: { method.response.header.X-Many: integration.response.header.x-many }
                responseTemplates: { application/json: '{"gone": "$input.path(''$.name'')"}' }`;
  edge = await startEdge(`
apis:
  - name: mapped
    routes:
      GET /chunked:${route(`${upstream.url}/chunked`)}
      GET /bom:${route(`${upstream.url}/bom`)}
      GET /missing:${route(`${upstream.url}/missing`)}
      GET /hang:${route(`${upstream.url}/hang`, '\n          timeoutMs: 200')}
      GET /dead:${route(`http://127.0.0.1:${deadPort}/x`)}
`);
});

afterAll(async () => {
  await edge?.stop();
  await upstream?.close();
});

describe('non-proxy http integration upstream exchange', () => {
  it('maps a body that arrives in several chunks as a whole', async () => {
    const r = await rawRequest(edge.port, { path: '/chunked' });
    expect(r.status).toBe(200);
    expect(json(r)).toEqual({ name: 'in parts', raw: { name: 'in parts', n: 2 } });
  });

  it('skips a UTF-8 byte order mark, as undici body.text() does', async () => {
    const r = await rawRequest(edge.port, { path: '/bom' });
    expect(json(r)).toEqual({ name: 'bom', raw: { name: 'bom' } });
  });

  it('selects the response by the upstream status and joins a header given twice', async () => {
    const r = await rawRequest(edge.port, { path: '/missing' });
    expect(r.status).toBe(410);
    expect(r.headers['x-many']).toBe('a, b');
    expect(json(r)).toEqual({ gone: 'missing' });
  });

  it('answers 504 when the upstream does not answer in time and 502 when it cannot be reached', async () => {
    expect((await rawRequest(edge.port, { path: '/hang' })).status).toBe(504);
    expect((await rawRequest(edge.port, { path: '/dead' })).status).toBe(502);
  });
});
