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
await import(bundle);
