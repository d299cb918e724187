#!/usr/bin/env node
// The turnpike command. The TypeScript sources are bundled by `npm run build` (npm start and npm test
// build first); this shim only points at the bundle.
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const bundle = fileURLToPath(new URL('../services/cli/dist/turnpike.mjs', import.meta.url));
if (!existsSync(bundle)) {
  console.error('turnpike: not built yet. Run `npm run build` (or `npm start`, which builds first).');
  process.exit(1);
}
// uWebSockets.js reads its header-section limit from the environment once, when it loads (default
// 4 KB, which refuses ordinary requests carrying a few cookies and a JWT). 16 KB is Node's own default;
// docs/edge.md, "HTTP/1.1 conformance". vitest.config.ts sets the same for in-process edges.
process.env.UWS_HTTP_MAX_HEADERS_SIZE ??= '16384';
try {
  await import(bundle);
} catch (err) {
  if (!/GLIBC_2\.3[89]|supports only Node\.js/.test(String(err?.message))) throw err;
  console.error(
    `turnpike: uWebSockets.js v20.57 cannot load on this node (${process.version}) and C library:\n  ${err.message.split('\n').findLast((l) => l.includes('GLIBC')) ?? err.message.split('\n')[0]}\n` +
      'It needs glibc >= 2.38 and Node.js 20, 22, 24 or 25. On an older Linux, run it on the runtime bundle:\n' +
      '  "$(node scripts/runtime.mjs)" bin/turnpike.mjs ...\nor use the container image (README, "Runtime").',
  );
  process.exit(1);
}
