import { measureAll, report, type Target } from '../harness.js';
import { startEdge, startUpstream, type Running } from '../processes.js';

/**
 * Issue 13's benchmark: the same upstream behind a proxy route and behind a non-proxy `http` route whose
 * request and response go through VTL mapping templates ($input.json, $input.params, $context, $util),
 * side by side in one run; target ≥ 0.8×. A templated mock shows the template cost without an upstream.
 */
export async function run(): Promise<void> {
  const started: Running[] = [];
  try {
    const upstream = await startUpstream();
    started.push(upstream);
    const up = `http://127.0.0.1:${upstream.info.port as number}`;
    const edge = await startEdge(`
apis:
  - name: bench
    routes:
      GET /proxy/{id}: { integration: { type: http_proxy, uri: "${up}/item/{id}" } }
      GET /vtl/{id}:
        integration:
          type: http
          uri: "${up}/item/{id}"
          mapping:
            requestTemplates:
              application/json: '{"id": "$input.params(''id'')", "caller": "$util.escapeJavaScript($context.identity.sourceIp)"}'
            responses:
              - statusCode: 200
                responseParameters: { method.response.header.X-Request-Id: "'bench'" }
                responseTemplates:
                  application/json: |
                    #set($r = $input.path('$'))
                    {"id": $input.json('$.id'), "name": "$r.name", "tags": [#foreach($t in $r.tags)"$t"#if($foreach.hasNext),#end#end], "request": "$context.requestId"}
      GET /mock/{id}:
        integration:
          type: mock
          mapping:
            requestTemplates: { application/json: '{"statusCode": 200}' }
            responses:
              - statusCode: 200
                responseTemplates: { application/json: '{"id": "$input.params(''id'')", "stage": "$context.stage"}' }
`);
    started.push(edge);
    const base = `http://127.0.0.1:${edge.info.port as number}`;
    const targets: Target[] = [
      { name: 'proxy route', url: `${base}/proxy/42`, pid: edge.proc.pid },
      { name: 'VTL-mapped http route', url: `${base}/vtl/42`, pid: edge.proc.pid },
      { name: 'VTL mock (no upstream)', url: `${base}/mock/42`, pid: edge.proc.pid },
    ];
    const results = await measureAll(targets);
    report('vtl', results, [{ label: 'VTL route / proxy route', numerator: 'VTL-mapped http route', denominator: 'proxy route', target: 0.8 }]);
  } finally {
    await Promise.all(started.map((p) => p.stop()));
  }
}
