
import { ResponseParser, RouteTrie, addressText, extendedRequestId, newRequestId, normalizePath, traceIdDigits } from '@turnpike/edge/internals';
import type { RouteMethod } from '@turnpike/config';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { quantileOf } from '../harness.js';
import { ROOT } from '../processes.js';

/**
 * Micro-benchmarks of per-request work apart from I/O: path normalization and route matching over a
 * 200-route API, the proxy's upstream response parse, the request id and its forms, the peer address
 * text. Nanoseconds per operation, median of 5 runs.
 */
export function nsPerOp(fn: () => unknown, iterations = 500_000): number {
  const runs: number[] = [];
  for (let r = 0; r < 5; r++) {
    const t0 = process.hrtime.bigint();
    for (let i = 0; i < iterations; i++) fn();
    runs.push(Number(process.hrtime.bigint() - t0) / iterations);
  }
  return Math.round(quantileOf(runs.sort((a, b) => a - b), 0.5) * 10) / 10;
}

/** What loadtests/servers/uwsUpstream.mjs answers: the proxy suites' upstream response. */
const RESPONSE = Buffer.from(
  'HTTP/1.1 200 OK\r\ncontent-type: application/json\r\nuwebsockets: 20\r\nDate: Tue, 01 Dec 2026 17:38:40 GMT\r\nuWebSockets: 20\r\nContent-Length: 62\r\n\r\n{"id":42,"name":"turnpike","tags":["api","gateway"],"ok":true}',
  'latin1',
);
const PEER = Uint8Array.from([0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 255, 255, 127, 0, 0, 1]);
const parser = new ResponseParser(16_384);
const sink = { paused: false, onHead() {}, onBody() {}, onComplete() {} };

export async function run(): Promise<void> {
  const trie = new RouteTrie<string>();
  const methods: RouteMethod[] = ['GET', 'POST', 'PUT', 'DELETE'];
  for (let i = 0; i < 50; i++) for (const m of methods) trie.add(m, i % 2 ? `/resource${i}/{id}/sub${i}` : `/resource${i}/{id}`, `${m} ${i}`);
  trie.add('ANY', '/{proxy+}', 'fallback');

  const results = {
    'normalizePath plain /prod/resource42/123/sub42': nsPerOp(() => normalizePath('/prod/resource42/123/sub42')),
    'normalizePath encoded /prod/a%2Fb/./c/../d': nsPerOp(() => normalizePath('/prod/a%2Fb/./c/../d')),
    'route match literal+param (201 routes)': nsPerOp(() => trie.match('GET', ['prod', 'resource41', '123', 'sub41'], 1)),
    'route match greedy fallback': nsPerOp(() => trie.match('GET', ['prod', 'nothing', 'here'], 1)),
    'upstream response parse, 5 headers + 62 B body': nsPerOp(() => {
      parser.start(sink, false);
      parser.execute(RESPONSE, 0);
    }),
    'request id + x-amz-apigw-id + trace id digits': nsPerOp(() => {
      const id = newRequestId();
      return extendedRequestId(id).length + traceIdDigits(id).length;
    }),
    'peer address text (IPv4-mapped IPv6)': nsPerOp(() => addressText(PEER)),
  };
  console.log('\n== micro (ns/op) ==');
  for (const [k, v] of Object.entries(results)) console.log(`${k.padEnd(52)} ${String(v).padStart(8)}`);
  mkdirSync(join(ROOT, 'loadtests/results'), { recursive: true });
  writeFileSync(join(ROOT, 'loadtests/results', `micro-${new Date().toISOString().replace(/[:.]/g, '-')}.json`), JSON.stringify(results, null, 2));
}
