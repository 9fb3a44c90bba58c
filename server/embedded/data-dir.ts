/**
 * DATA_DIR holds the embedded PostgreSQL's cluster and credentials, the embedded storage's objects
 * and the storage secret: only the service's own user may read it.
 *
 * - Created (or, from an earlier version, narrowed to) mode 0700.
 * - Running as root, the embedded PostgreSQL runs as the OS user `postgres` (it refuses to run as
 *   root), which must enter DATA_DIR to reach its cluster: DATA_DIR then belongs to group
 *   `postgres` with mode 0710 (that group may enter, not list; everything inside stays private).
 * - Directories above it are never changed. As root, every one of them, and the ones above the
 *   PostgreSQL binaries, must let the `postgres` user through; when one does not, start-up stops
 *   and says which and how to fix it, rather than opening, say, /root to everyone.
 */
import { execFile } from 'node:child_process';
import fs from 'node:fs/promises';
import path from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);

export interface OsUser {
  uid: number;
  gid: number;
}

/** DATA_DIR, created 0700 if missing; an existing one loses every permission of group and others. */
export async function preparePrivateDir(dir: string, enterableBy?: OsUser): Promise<void> {
  await fs.mkdir(dir, { recursive: true, mode: 0o700 });
  if (enterableBy) {
    const s = await fs.stat(dir);
    if (s.gid !== enterableBy.gid) await fs.chown(dir, s.uid, enterableBy.gid);
    await fs.chmod(dir, 0o710);
  } else {
    await fs.chmod(dir, 0o700);
  }
}

async function idOf(name: string): Promise<OsUser> {
  const [uid, gid] = await Promise.all([run('id', ['-u', name]), run('id', ['-g', name])]);
  return { uid: Number(uid.stdout.trim()), gid: Number(gid.stdout.trim()) };
}

/** The OS user `postgres` (created, with its group, when missing), for running PostgreSQL as root. */
export async function postgresOsUser(): Promise<OsUser> {
  try {
    return await idOf('postgres');
  } catch {
    await run('groupadd', ['--system', 'postgres']).catch(() => {});
    await run('useradd', ['--system', '--gid', 'postgres', '--no-create-home', '--shell', '/usr/sbin/nologin', 'postgres']);
    return idOf('postgres');
  }
}

/** Whether `user` may pass through directory `dir` (search permission), judging by its mode. */
async function canEnter(dir: string, user: OsUser): Promise<boolean> {
  const s = await fs.stat(dir);
  if (s.uid === user.uid) return (s.mode & 0o100) !== 0;
  if (s.gid === user.gid) return (s.mode & 0o010) !== 0;
  return (s.mode & 0o001) !== 0;
}

/** Throws, naming the directory and the fix, when `user` cannot reach `target` through its parents. */
export async function assertReachable(target: string, user: OsUser, what: string): Promise<void> {
  const blocked: string[] = [];
  for (let dir = path.dirname(path.resolve(target)); ; dir = path.dirname(dir)) {
    if (!(await canEnter(dir, user))) blocked.push(dir);
    if (dir === path.dirname(dir)) break;
  }
  if (blocked.length === 0) return;
  throw new Error(
    `The embedded PostgreSQL runs as the OS user "postgres" when the service runs as root, and it cannot reach ${what} (${target}): ` +
      `it may not enter ${blocked.join(', ')}. Run the service as a normal user, move the checkout or DATA_DIR below ` +
      `directories others may enter, give the service a DATABASE_URL, or allow entering (not listing) with: chmod o+x ${blocked.join(' ')}`,
  );
}
