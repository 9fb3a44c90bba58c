/**
 * Contract first: renaming a response field in the shared backend schemas (openapi/shared/) and
 * regenerating makes the compiler reject the server and the SDK code that still uses the old name.
 */
import { execFile } from 'node:child_process';
import { cp, mkdtemp, readFile, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const run = promisify(execFile);
const root = join(import.meta.dirname, '..', '..');
let dir: string;

async function tsc(project: string): Promise<{ ok: boolean; output: string }> {
  try {
    await run(join(root, 'node_modules', '.bin', 'tsc'), ['-p', project, '--noEmit'], { cwd: dir, maxBuffer: 16 * 1024 * 1024 });
    return { ok: true, output: '' };
  } catch (err) {
    const e = err as { stdout?: string; stderr?: string };
    return { ok: false, output: `${e.stdout ?? ''}${e.stderr ?? ''}` };
  }
}

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'ecg-mutation-'));
  for (const entry of ['openapi', 'scripts', 'server', 'sdk', 'drizzle', 'examples', 'test', 'tsconfig.json', 'tsconfig.base.json', 'package.json', 'vitest.config.ts', 'drizzle.config.ts']) {
    await cp(join(root, entry), join(dir, entry), { recursive: true, filter: (src) => !src.includes('node_modules') && !src.includes(`${join('sdk', 'dist')}`) });
  }
  await symlink(join(root, 'node_modules'), join(dir, 'node_modules'), 'dir');
  const spec = join(dir, 'openapi', 'shared', 'backend', 'schemas', 'upload.yaml');
  const yaml = await readFile(spec, 'utf8');
  // GenerateUploadUrlResponse.upload_url -> upload_uri (property and required list): a field the server
  // produces (server/routes/upload.routes.ts) and the SDK reads (the upload transport, sdk/src/upload.ts).
  const mutated = yaml
    .replace('required: [presigned_url, upload_url, url,', 'required: [presigned_url, upload_uri, url,')
    .replace(/(\nGenerateUploadUrlResponse:[\s\S]*?\n {4})upload_url:/, '$1upload_uri:');
  expect(mutated).not.toBe(yaml);
  await writeFile(spec, mutated);
  await run(join(root, 'node_modules', '.bin', 'tsx'), ['scripts/gen.ts'], { cwd: dir });
}, 120_000);

afterAll(async () => {
  if (dir) await rm(dir, { recursive: true, force: true });
});

describe('renaming a response field of the backend spec', () => {
  it('breaks the server\'s typecheck where the field is produced', async () => {
    const { ok, output } = await tsc('tsconfig.json');
    expect(ok).toBe(false);
    expect(output).toMatch(/server\/routes\/upload\.routes\.ts\(\d+,\d+\): error/);
  }, 120_000);

  it('breaks the SDK\'s typecheck where the field is read', async () => {
    const { ok, output } = await tsc('sdk/tsconfig.json');
    expect(ok).toBe(false);
    expect(output).toMatch(/sdk\/src\/[\w-]+\.ts\(\d+,\d+\): error.*upload_url/);
  }, 120_000);
});
