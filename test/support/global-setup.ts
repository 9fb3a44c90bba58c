/**
 * Vitest globalSetup: one fresh, migrated database per test run.
 *
 * - DATABASE_URL set: that server is used (the role needs CREATEDB).
 * - Otherwise an embedded Postgres is started in a temporary directory for this run only, and
 *   the tests use its superuser.
 *
 * Either way a database `ecg_test_<random>` is created, the shipped migrations
 * (drizzle/migrations) are applied to it, and its URL is handed to the tests through
 * `project.provide` (read it with `inject('testDatabaseUrl')` or the helpers in ./db.ts).
 * Teardown drops the database and stops the embedded server.
 */
import { randomBytes } from 'node:crypto';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import postgres from 'postgres';
import type { TestProject } from 'vitest/node';
import { runMigrations } from '../../server/db/migrate.js';
import { type EmbeddedPostgresHandle,startEmbeddedPostgres } from '../../server/embedded/postgres.js';

declare module 'vitest' {
  export interface ProvidedContext {
    /** The migrated database of this run. */
    testDatabaseUrl: string;
    /** A maintenance database on the same server (for creating scratch databases). */
    testDatabaseAdminUrl: string;
    /** Where the server came from. */
    testDatabaseServer: 'external' | 'embedded';
  }
}

/** `url` with its database name replaced. */
export function withDatabase(url: string, database: string): string {
  const u = new URL(url);
  u.pathname = `/${encodeURIComponent(database)}`;
  return u.toString();
}

export function quoteIdent(name: string): string {
  return `"${name.replaceAll('"', '""')}"`;
}

export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  let embedded: EmbeddedPostgresHandle | undefined;
  let tmpDir: string | undefined;
  let adminUrl: string;

  const external = process.env.DATABASE_URL;
  if (external) {
    adminUrl = external;
  } else {
    tmpDir = await fs.mkdtemp(path.join(os.tmpdir(), 'ecg-test-pg-'));
    const lines: string[] = [];
    try {
      embedded = await startEmbeddedPostgres({
        dataDir: tmpDir,
        unsafeNoFsync: true, // thrown away after the run
        logger: (message) => {
          lines.push(message);
          lines.splice(0, Math.max(0, lines.length - 50));
        },
      });
    } catch (err) {
      await fs.rm(tmpDir, { recursive: true, force: true });
      throw err;
    }
    adminUrl = embedded.adminUrlFor('postgres'); // the tests create databases
  }

  const name = `ecg_test_${randomBytes(6).toString('hex')}`;
  const admin = postgres(adminUrl, { max: 1, onnotice: () => {} });
  const url = withDatabase(adminUrl, name);
  const teardown = async () => {
    try {
      // FORCE (PostgreSQL 13+) ends connections a test forgot to close.
      await admin.unsafe(`drop database if exists ${quoteIdent(name)} with (force)`);
    } finally {
      await admin.end({ timeout: 5 });
      await embedded?.stop();
      if (tmpDir) await fs.rm(tmpDir, { recursive: true, force: true });
    }
  };
  try {
    await admin.unsafe(`create database ${quoteIdent(name)}`);
    await runMigrations(url);
  } catch (err) {
    await teardown();
    throw err;
  }

  project.provide('testDatabaseUrl', url);
  project.provide('testDatabaseAdminUrl', adminUrl);
  project.provide('testDatabaseServer', embedded ? 'embedded' : 'external');
  return teardown;
}
