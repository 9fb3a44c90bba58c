/** Captured screens are kept under `.tmp/cli-screens/` (git-ignored), to look at after a run. */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { root } from './build.js';

export function keepScreen(name: string, screen: string): void {
  const dir = join(root, '.tmp', 'cli-screens');
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, `${name}.txt`), `${screen}\n`);
}
