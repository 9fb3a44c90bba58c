/** The React snippet in sdk/README.md is a complete module that type-checks against the SDK's sources. */
import { execFile } from 'node:child_process';
import { mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, expect, it } from 'vitest';

const run = promisify(execFile);
const root = join(import.meta.dirname, '..', '..');
const dir = join(root, '.tmp', `react-readme-${process.pid}`);

afterAll(async () => rm(dir, { recursive: true, force: true }));

it('the TSX snippet under "React" in sdk/README.md type-checks', async () => {
  const readme = await readFile(join(root, 'sdk', 'README.md'), 'utf8');
  const section = readme.slice(readme.indexOf('## React'), readme.indexOf('## Subtitles'));
  const snippets = [...section.matchAll(/```tsx\n([\s\S]*?)```/g)].map((m) => m[1]!);
  expect(snippets).toHaveLength(1);
  await mkdir(dir, { recursive: true });
  await writeFile(join(dir, 'snippet.tsx'), snippets[0]!);
  await writeFile(join(dir, 'tsconfig.json'), JSON.stringify({ extends: '../../tsconfig.json', include: ['snippet.tsx'] }));
  const result = await run(join(root, 'node_modules', '.bin', 'tsc'), ['-p', join(dir, 'tsconfig.json'), '--noEmit']).then(
    () => '',
    (err: { stdout?: string }) => err.stdout ?? 'tsc failed',
  );
  expect(result).toBe('');
}, 120_000);
