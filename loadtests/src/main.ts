/**
 * `npm run bench [-- SUITE...]`: runs the named benchmark suites (all by default). Each suite starts what
 * it measures on loopback, measures side by side, prints requests/s, p50/p99 and ratios, writes JSON to
 * loadtests/results/, stops everything it started, and exits.
 */
const SUITES: Record<string, () => Promise<{ run: () => Promise<void> }>> = {
  micro: () => import('./suites/micro.js'),
  cli: () => import('./suites/cli.js'),
  policy: () => import('./suites/policy.js'),
  proxy: () => import('./suites/proxy.js'),
  telemetry: () => import('./suites/telemetry.js'),
  functions: () => import('./suites/functions.js'),
  auth: () => import('./suites/auth.js'),
  throttle: () => import('./suites/throttle.js'),
  billing: () => import('./suites/billing.js'),
  websocket: () => import('./suites/websocket.js'),
  wsscale: () => import('./suites/wsscale.js'),
  vtl: () => import('./suites/vtl.js'),
  scale: () => import('./suites/scale.js'),
};

const wanted = process.argv.slice(2);
const names = wanted.length ? wanted : Object.keys(SUITES);
for (const name of names) {
  const load = SUITES[name];
  if (!load) {
    console.error(`unknown suite "${name}"; suites: ${Object.keys(SUITES).join(', ')}`);
    process.exit(2);
  }
  const { run } = await load();
  await run();
}
process.exit(0);
export {};
