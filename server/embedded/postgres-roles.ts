/**
 * Who may connect to the embedded PostgreSQL. Two roles, each with a random password made at the
 * first start and kept in `${dataDir}/postgres.credentials` (mode 0600, owner only):
 * - the superuser `postgres`, used here to set things up and by the tests to create databases;
 * - the application role `ecg_app`, owner of the service's database and nothing else, so the
 *   service can run its migrations but cannot read files or run programs as the server's OS user
 *   (`COPY ... TO PROGRAM` needs a superuser or pg_execute_server_program).
 *
 * Clusters made by earlier versions had the superuser password `postgres` and a database owned by
 * the superuser: on their first start with this version the password is replaced and the database
 * and everything in it are handed to the application role.
 */
import { randomBytes } from 'node:crypto';
import fs from 'node:fs/promises';
import path from 'node:path';
import postgres from 'postgres';
import { errnoCode } from './postgres-process.js';

export const SUPERUSER = 'postgres';
export const APP_ROLE = 'ecg_app';
/** The superuser password of clusters initialised by earlier versions. */
export const LEGACY_SUPERUSER_PASSWORD = 'postgres';

export interface Credentials {
  superuserPassword: string;
  appPassword: string;
}

export function credentialsFile(dataDir: string): string {
  return path.join(dataDir, 'postgres.credentials');
}

const newPassword = () => randomBytes(32).toString('base64url');

/** The stored credentials, made (with mode 0600) when missing. */
export async function loadOrCreateCredentials(dataDir: string): Promise<Credentials> {
  const file = credentialsFile(dataDir);
  try {
    const stored = JSON.parse(await fs.readFile(file, 'utf8')) as Partial<Credentials>;
    if (typeof stored.superuserPassword === 'string' && typeof stored.appPassword === 'string') {
      await fs.chmod(file, 0o600);
      return { superuserPassword: stored.superuserPassword, appPassword: stored.appPassword };
    }
    throw new Error(`${file} does not hold the embedded PostgreSQL's passwords ({"superuserPassword": ..., "appPassword": ...})`);
  } catch (err) {
    if (errnoCode(err) !== 'ENOENT') throw err;
  }
  const created: Credentials = { superuserPassword: newPassword(), appPassword: newPassword() };
  await fs.writeFile(file, `${JSON.stringify(created)}\n`, { mode: 0o600, flag: 'wx' }).catch((err: unknown) => {
    if (errnoCode(err) !== 'EEXIST') throw err;
  });
  return loadOrCreateCredentials(dataDir);
}

const quoteIdent = (name: string) => `"${name.replaceAll('"', '""')}"`;
const quoteLiteral = (value: string) => `'${value.replaceAll("'", "''")}'`;

/**
 * Connects as the superuser with the stored password; a cluster of an earlier version still has
 * the legacy one, which is replaced on the spot.
 */
export async function connectSuperuser(urlFor: (user: string, password: string, database: string) => string, creds: Credentials): Promise<postgres.Sql> {
  const open = (password: string) => postgres(urlFor(SUPERUSER, password, 'postgres'), { max: 1, onnotice: () => {}, connect_timeout: 10 });
  const admin = open(creds.superuserPassword);
  try {
    await admin`select 1`;
    return admin;
  } catch (err) {
    await admin.end({ timeout: 1 });
    if (errnoCode(err) !== '28P01') throw err; // not "password authentication failed"
  }
  const legacy = open(LEGACY_SUPERUSER_PASSWORD);
  try {
    await legacy.unsafe(`alter role ${quoteIdent(SUPERUSER)} password ${quoteLiteral(creds.superuserPassword)}`);
    return legacy;
  } catch (err) {
    await legacy.end({ timeout: 1 });
    throw new Error(`the embedded PostgreSQL refuses the superuser password stored in the data directory: ${String(err)}`);
  }
}

/**
 * Makes sure the application role exists with the stored password and owns `database` and every
 * object in it. Idempotent; the ownership transfer runs only for a database the role does not own.
 */
export async function ensureAppRole(
  admin: postgres.Sql,
  urlFor: (user: string, password: string, database: string) => string,
  creds: Credentials,
  database: string,
): Promise<void> {
  const role = quoteIdent(APP_ROLE);
  const attributes = `login nosuperuser nocreatedb nocreaterole noreplication nobypassrls password ${quoteLiteral(creds.appPassword)}`;
  const [exists] = await admin`select 1 as one from pg_roles where rolname = ${APP_ROLE}`;
  await admin.unsafe(exists ? `alter role ${role} ${attributes}` : `create role ${role} ${attributes}`).catch((err: unknown) => {
    if (errnoCode(err) !== '42710') throw err; // created concurrently
  });

  const [db] = await admin<{ owner: string }[]>`select pg_get_userbyid(datdba) as owner from pg_database where datname = ${database}`;
  if (!db) {
    await admin.unsafe(`create database ${quoteIdent(database)} owner ${role}`).catch((err: unknown) => {
      if (errnoCode(err) !== '42P04') throw err; // created concurrently
    });
    return;
  }
  if (db.owner === APP_ROLE) return;
  await admin.unsafe(`alter database ${quoteIdent(database)} owner to ${role}`);
  const inDb = postgres(urlFor(SUPERUSER, creds.superuserPassword, database), { max: 1, onnotice: () => {}, connect_timeout: 10 });
  try {
    await inDb.unsafe(handOverObjects(APP_ROLE));
  } finally {
    await inDb.end({ timeout: 5 });
  }
}

/**
 * SQL that gives `role` the schemas, tables, views, sequences, types and routines the current
 * user owns outside the system schemas. Indexes and sequences owned by a column follow their table.
 */
function handOverObjects(role: string): string {
  const to = quoteIdent(role);
  return `do $$
declare r record;
begin
  for r in select nspname from pg_namespace
           where nspowner = current_user::regrole and nspname not like 'pg\\_%' and nspname <> 'information_schema' loop
    execute format('alter schema %I owner to ${to}', r.nspname);
  end loop;
  for r in select c.oid::regclass as name, c.relkind from pg_class c join pg_namespace n on n.oid = c.relnamespace
           where c.relowner = current_user::regrole and n.nspname not like 'pg\\_%' and n.nspname <> 'information_schema'
             and c.relkind in ('r', 'p', 'v', 'm', 'f', 'S')
             and not exists (select 1 from pg_depend d where d.classid = 'pg_class'::regclass and d.objid = c.oid and d.deptype in ('a', 'i')) loop
    execute format('alter %s %s owner to ${to}',
      case r.relkind when 'v' then 'view' when 'm' then 'materialized view' when 'f' then 'foreign table' when 'S' then 'sequence' else 'table' end,
      r.name);
  end loop;
  for r in select t.oid::regtype as name from pg_type t join pg_namespace n on n.oid = t.typnamespace
           where t.typowner = current_user::regrole and t.typtype in ('e', 'd', 'r') and n.nspname not like 'pg\\_%' and n.nspname <> 'information_schema' loop
    execute format('alter type %s owner to ${to}', r.name);
  end loop;
  for r in select p.oid::regprocedure as name from pg_proc p join pg_namespace n on n.oid = p.pronamespace
           where p.proowner = current_user::regrole and n.nspname not like 'pg\\_%' and n.nspname <> 'information_schema' loop
    execute format('alter routine %s owner to ${to}', r.name);
  end loop;
end $$`;
}
