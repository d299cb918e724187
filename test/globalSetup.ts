// Tests spawn real `turnpike` processes (edges, workers); build the bundles first so they run this code.
// @ts-expect-error: plain ESM script without typings
import { buildAll } from '../scripts/build.mjs';

export default async function setup(): Promise<void> {
  await buildAll();
}
