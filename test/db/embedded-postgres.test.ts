/**
 * The embedded Postgres used for development and for tests without DATABASE_URL.
 * Each test gets its own data directory and server (ports are picked automatically).
 */
import { execFileSync, spawn } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import postgres from 'postgres';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { type EmbeddedPostgresHandle,startEmbeddedPostgres } from '../../server/embedded/postgres.js';

const dirs: string[] = [];
const running: EmbeddedPostgresHandle[] = [];

async function tempDataDir(): Promise<string> {
  const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'ecg-embedded-test-'));
  dirs.push(dir);
  return dir;
}

/** `durable: false` (no fsync) keeps the tests that are not about durability fast. */
async function start(dataDir: string, durable = false): Promise<EmbeddedPostgresHandle> {
  const h = await startEmbeddedPostgres({ dataDir, unsafeNoFsync: !durable });
  running.push(h);
  return h;
}

async function query<T extends Record<string, unknown>>(url: string, text: string): Promise<T[]> {
  const sql = postgres(url, { max: 1, onnotice: () => {} });
  try {
    return [...(await sql.unsafe<T[]>(text))];
  } finally {
    await sql.end({ timeout: 5 });
  }
}

/** Running (a zombie, left unreaped when init is not a reaper, counts as dead). */
function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EPERM') return false;
  }
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2).split(' ')[0] !== 'Z';
  } catch {
    return existsSync('/proc') ? false : true;
  }
}

async function waitDead(pid: number, ms = 15_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (alive(pid)) {
    if (Date.now() > deadline) throw new Error(`pid ${pid} still alive`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

async function postmasterPid(pgdata: string): Promise<number> {
  const content = await fs.readFile(path.join(pgdata, 'postmaster.pid'), 'utf8');
  return Number.parseInt(content.split('\n')[0] ?? '', 10);
}

afterEach(async () => {
  await Promise.all(running.splice(0).map((h) => h.stop()));
});

afterAll(async () => {
  await Promise.all(dirs.map((d) => fs.rm(d, { recursive: true, force: true })));
});

describe('startEmbeddedPostgres', () => {
  it('creates the ecg database and keeps data across stop/start of the same dataDir', async () => {
    const dataDir = await tempDataDir();
    const first = await start(dataDir, true);
    expect(first.url).toMatch(/^postgres:\/\/ecg_app:[^@]+@127\.0\.0\.1:\d+\/ecg$/);
    expect(existsSync(path.join(dataDir, 'postgres', 'PG_VERSION'))).toBe(true);
    await query(first.url, `create table kept (v text); insert into kept values ('survives')`);
    await first.stop();
    await first.stop(); // idempotent
    expect(existsSync(path.join(first.pgdata, 'postmaster.pid'))).toBe(false);

    const second = await start(dataDir, true);
    expect(await query(second.url, 'select v from kept')).toEqual([{ v: 'survives' }]);
  });

  it('recovers after its postmaster was killed with SIGKILL', async () => {
    const dataDir = await tempDataDir();
    const first = await start(dataDir);
    await query(first.url, `create table crash (v int); insert into crash values (42)`);
    const pid = await postmasterPid(first.pgdata);
    process.kill(pid, 'SIGKILL');
    await waitDead(pid);
    expect(existsSync(path.join(first.pgdata, 'postmaster.pid'))).toBe(true);
    await first.stop(); // the server is already gone: must not hang

    const second = await start(dataDir);
    expect(await query(second.url, 'select v from crash')).toEqual([{ v: 42 }]);
  });

  it('starts despite a postmaster.pid naming a live process that is not its postgres', async () => {
    const dataDir = await tempDataDir();
    const first = await start(dataDir);
    await first.stop();
    // Pid reuse after a crash: the pid in the file now belongs to an unrelated process of the
    // user Postgres runs as (e.g. a backend of the system's own Postgres). Postgres cannot
    // tell that it is not a postmaster and refuses to start ("lock file already exists").
    const asPostgres =
      process.getuid?.() === 0
        ? { uid: Number(execFileSync('id', ['-u', 'postgres']).toString()), gid: Number(execFileSync('id', ['-g', 'postgres']).toString()) }
        : {};
    const sleeper = spawn('sleep', ['60'], { ...asPostgres, stdio: 'ignore' });
    try {
      const pidFile = path.join(first.pgdata, 'postmaster.pid');
      await fs.writeFile(
        pidFile,
        `${sleeper.pid}\n${first.pgdata}\n1700000000\n${first.port}\n\n127.0.0.1\n  5432001   0\nready   \n`,
      );
      const second = await start(dataDir);
      expect(await query(second.url, 'select 1 as ok')).toEqual([{ ok: 1 }]);
    } finally {
      sleeper.kill('SIGKILL');
    }
  });

  it('starts despite a postmaster.pid naming a dead process', async () => {
    const dataDir = await tempDataDir();
    const first = await start(dataDir);
    await first.stop();
    const child = spawn(process.execPath, ['-e', '']);
    const deadPid = child.pid!;
    await new Promise((r) => child.once('exit', r));
    await fs.writeFile(path.join(first.pgdata, 'postmaster.pid'), `${deadPid}\n${first.pgdata}\n`);
    const second = await start(dataDir);
    expect(await query(second.url, 'select 1 as ok')).toEqual([{ ok: 1 }]);
  });

  it('shuts down an orphaned server left behind by a killed process, then starts', async () => {
    const dataDir = await tempDataDir();
    const moduleUrl = pathToFileURL(path.resolve('server/embedded/postgres.ts')).href;
    const script = `
      const { startEmbeddedPostgres } = await import(${JSON.stringify(moduleUrl)});
      const h = await startEmbeddedPostgres({ dataDir: ${JSON.stringify(dataDir)}, unsafeNoFsync: true });
      console.log('READY ' + h.url);
      setInterval(() => {}, 1000);
    `;
    const child = spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const url = await new Promise<string>((resolve, reject) => {
      let out = '';
      child.stdout.on('data', (d: Buffer) => {
        out += d.toString();
        const m = /READY (\S+)/.exec(out);
        if (m?.[1]) resolve(m[1]);
      });
      child.once('exit', (code) => reject(new Error(`child exited ${code}: ${stderr}`)));
    });
    await query(url, `create table orphaned (v text); insert into orphaned values ('still here')`);
    const pgdata = path.join(dataDir, 'postgres');
    const orphan = await postmasterPid(pgdata);

    const exited = new Promise((r) => child.once('exit', r));
    child.kill('SIGKILL'); // no exit hooks run: postgres is left running without its parent
    await exited;
    expect(alive(orphan)).toBe(true);

    const h = await start(dataDir);
    expect(alive(orphan)).toBe(false);
    expect(await query(h.url, 'select v from orphaned')).toEqual([{ v: 'still here' }]);
  });
});
