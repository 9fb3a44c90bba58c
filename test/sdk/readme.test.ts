/** The SDK snippets in README.md are complete modules that type-check against the SDK's sources. */
import { execFile } from 'node:child_process';
import { mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, expect, it } from 'vitest';

const run = promisify(execFile);
const root = join(import.meta.dirname, '..', '..');
const dir = join(root, '.tmp', `readme-${process.pid}`);

afterAll(async () => rm(dir, { recursive: true, force: true }));

it('every TypeScript snippet under "Using the SDK" in README.md type-checks', async () => {
  const readme = await readFile(join(root, 'README.md'), 'utf8');
  const section = readme.slice(readme.indexOf('## Using the SDK'), readme.indexOf('## Configuration'));
  const snippets = [...section.matchAll(/```ts\n([\s\S]*?)```/g)].map((m) => m[1]!);
  expect(snippets.length).toBeGreaterThanOrEqual(2);
  await mkdir(dir, { recursive: true });
  const files = await Promise.all(
    snippets.map(async (code, i) => {
      const file = join(dir, `snippet-${i}.ts`);
      await writeFile(file, code);
      return file;
    }),
  );
  await writeFile(join(dir, 'tsconfig.json'), JSON.stringify({ extends: '../../tsconfig.json', include: files.map((f) => f.slice(dir.length + 1)) }));
  const result = await run(join(root, 'node_modules', '.bin', 'tsc'), ['-p', join(dir, 'tsconfig.json'), '--noEmit']).then(
    () => '',
    (err: { stdout?: string }) => err.stdout ?? 'tsc failed',
  );
  expect(result).toBe('');
}, 120_000);
