import { mkdtempSync, statSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { measureAll, report, type Target } from '../harness.js';
import { start, startUpstream, TURNPIKE, type Running } from '../processes.js';

/**
 * Issue 7's benchmark: what monitoring costs on the proxy route. Two edge processes serve the same
 * route from the same upstream, measured side by side in one run: one with everything on (Prometheus
 * metrics, a JSON access line per request written to a file, tracing sampled at 1% and exported over
 * OTLP/HTTP to a local sink), one with all of it off. Target: on/off >= 0.9.
 *
 * Besides requests/s it reports each edge's CPU time per request (from /proc), measured over the same
 * requests: on a machine shared with other work, throughput swings with what else runs, while the CPU
 * an edge spends per request is what monitoring actually adds.
 */
export async function run(): Promise<void> {
  const started: Running[] = [];
  // Receives the OTLP trace exports, so the traced edge really serializes and sends its spans.
  let exports = 0;
  const sink = createServer((req, res) => {
    req.resume();
    req.on('end', () => {
      exports++;
      res.writeHead(200, { 'content-type': 'application/json' }).end('{}');
    });
  });
  await new Promise<void>((resolve) => sink.listen(0, '127.0.0.1', resolve));
  const sinkUrl = `http://127.0.0.1:${(sink.address() as AddressInfo).port}/v1/traces`;
  const dir = mkdtempSync(join(tmpdir(), 'tp-bench-telemetry-'));
  try {
    const upstream = await startUpstream();
    started.push(upstream);
    const route = `
apis:
  - name: bench
    routes:
      GET /item/{id}: { integration: { type: http_proxy, uri: "http://127.0.0.1:${upstream.info.port}/item/{id}" } }
`;
    const on = await edge(dir, 'on', `gateway:\n  accessLog: { destination: access.log }\n  metrics: { enabled: true }\n  tracing: { sampleRatio: 0.01 }\n${route}`, {
      OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: sinkUrl,
    });
    started.push(on);
    const off = await edge(dir, 'off', `gateway:\n  metrics: { enabled: false }\n  tracing: { enabled: false }\n${route}`, {});
    started.push(off);

    const targets: Target[] = [
      { name: 'proxy, monitoring off', url: `http://127.0.0.1:${off.info.port}/item/42`, pid: off.proc.pid },
      { name: 'proxy, metrics+logs+trace 1%', url: `http://127.0.0.1:${on.info.port}/item/42`, pid: on.proc.pid },
    ];
    const results = await measureAll(targets);
    const metrics = await fetch(`http://127.0.0.1:${on.info.managementPort}/metrics`).then((r) => r.text());
    await on.stop(); // flushes the access log and the last spans
    const [offName, onName] = targets.map((t) => t.name) as [string, string];
    const served = results.find((r) => r.name === onName)!;
    const cpuOff = results.find((r) => r.name === offName)!.cpuUsPerRequest;
    const cpuOn = served.cpuUsPerRequest;
    report('telemetry', results, [{ label: 'monitoring on / off', numerator: onName, denominator: offName, target: 0.9 }], {
      cpuRatioOffOverOn: cpuOff && cpuOn ? Number((cpuOff / cpuOn).toFixed(2)) : 'n/a',
      accessLogBytes: statSync(join(dir, 'access.log')).size,
      otlpTraceExports: exports,
      metricsExpositionBytes: metrics.length,
      requestsMeasuredWithMonitoring: served.total,
    });
  } finally {
    await Promise.all(started.map((p) => p.stop()));
    sink.close();
  }
}

function edge(dir: string, name: string, yaml: string, env: Record<string, string>): Promise<Running> {
  const file = join(dir, `${name}.yaml`);
  writeFileSync(file, yaml);
  return start(process.execPath, [TURNPIKE, 'edge', '--config', file, '--port', '0', '--management-port', '0', '--key-prefix', `bench-${process.pid}-${name}`], {
    env: { LOG_LEVEL: 'warn', ...env },
  });
}

