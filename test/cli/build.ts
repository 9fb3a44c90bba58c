/**
 * The CLI as it ships: the `ecg` bin (`clients/cli/bin/ecg.js`) running `dist/main.js`, compiled by
 * the package's own `build` script, run with plain `node` and resolving `@ecg/sdk` through the
 * workspace link to `sdk/dist`. Both dist/ directories are rebuilt when their sources are newer;
 * a lock directory keeps parallel test files from building at once.
 */
import { spawnSync } from 'node:child_process';
import { mkdir, readdir, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';

export const root = join(import.meta.dirname, '..', '..');
const compiled = join(root, 'clients', 'cli', 'dist', 'main.js');
/** The `bin` of `@ecg/cli`. */
export const cliBin = join(root, 'clients', 'cli', 'bin', 'ecg.js');

async function newestMtime(path: string): Promise<number> {
  const info = await stat(path);
  if (!info.isDirectory()) return info.mtimeMs;
  const entries = await readdir(path);
  const times = await Promise.all(entries.map((e) => newestMtime(join(path, e))));
  return Math.max(info.mtimeMs, ...times);
}

async function isStale(output: string, inputs: string[]): Promise<boolean> {
  const built = await stat(output).then((s) => s.mtimeMs, () => 0);
  if (built === 0) return true;
  const newest = Math.max(...(await Promise.all(inputs.map(newestMtime))));
  return newest > built;
}

function npmBuild(workspace: string): void {
  const r = spawnSync('npm', ['run', '--silent', 'build', '-w', workspace], { cwd: root, encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`npm run build -w ${workspace} failed:\n${r.stdout}${r.stderr}`);
}

async function withLock<T>(dir: string, body: () => Promise<T>): Promise<T> {
  const deadline = Date.now() + 180_000;
  for (;;) {
    try {
      await mkdir(dir, { recursive: false });
      break;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
      // A lock left by a killed run is older than any build takes.
      const age = await stat(dir).then((s) => Date.now() - s.mtimeMs, () => 0);
      if (age > 180_000) await rm(dir, { recursive: true, force: true });
      if (Date.now() > deadline) throw new Error(`${dir} stayed locked for 3 minutes`);
      await sleep(200);
    }
  }
  try {
    return await body();
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

/** Builds what is stale and answers the path of the `ecg` bin. */
export async function buildCli(): Promise<string> {
  await mkdir(join(root, '.tmp'), { recursive: true });
  await withLock(join(root, '.tmp', 'cli-build.lock'), async () => {
    const sdk = join(root, 'sdk');
    if (await isStale(join(sdk, 'dist', 'index.js'), [join(sdk, 'src'), join(sdk, 'package.json')])) npmBuild('@ecg/sdk');
    const cli = join(root, 'clients', 'cli');
    if (await isStale(compiled, [join(cli, 'src'), join(cli, 'package.json'), join(sdk, 'dist')])) npmBuild('@ecg/cli');
  });
  return cliBin;
}
