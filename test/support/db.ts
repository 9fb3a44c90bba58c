/**
 * Database helpers for tests. The run's database is created and migrated once by
 * test/support/global-setup.ts; test files run in parallel against it, so use fresh ids
 * (randomUUID) instead of truncating shared tables. Need an empty database of your own?
 * Use scratchDatabase().
 */
import { randomBytes } from 'node:crypto';
import postgres from 'postgres';
import { inject } from 'vitest';
import { createDatabase, type DatabaseHandle, type DatabaseOptions } from '../../server/db/client.js';
import { quoteIdent, withDatabase } from './global-setup.js';

/** URL of this run's migrated database. */
export function testDatabaseUrl(): string {
  return inject('testDatabaseUrl');
}

/** A createDatabase() handle on this run's migrated database. Close it (afterAll). */
export function testDatabase(opts: DatabaseOptions = {}): DatabaseHandle {
  return createDatabase(testDatabaseUrl(), { max: 4, applicationName: 'ecg-test', ...opts });
}

export interface ScratchDatabase {
  name: string;
  url: string;
  /** Drops the database, ending any connection still open on it. */
  drop(): Promise<void>;
}

/** A new, empty (unmigrated) database on the test server. */
export async function scratchDatabase(prefix = 'ecg_scratch'): Promise<ScratchDatabase> {
  const adminUrl = inject('testDatabaseAdminUrl');
  const name = `${prefix}_${randomBytes(6).toString('hex')}`;
  const admin = postgres(adminUrl, { max: 1, onnotice: () => {} });
  try {
    await admin.unsafe(`create database ${quoteIdent(name)}`);
  } finally {
    await admin.end({ timeout: 5 });
  }
  return {
    name,
    url: withDatabase(adminUrl, name),
    async drop() {
      const a = postgres(adminUrl, { max: 1, onnotice: () => {} });
      try {
        await a.unsafe(`drop database if exists ${quoteIdent(name)} with (force)`);
      } finally {
        await a.end({ timeout: 5 });
      }
    },
  };
}

/** SQLSTATE of a database error, looking through Drizzle's DrizzleQueryError wrapper. */
export function pgErrorCode(err: unknown): string | undefined {
  for (let e: unknown = err, depth = 0; e && typeof e === 'object' && depth < 5; depth++) {
    if ('code' in e && typeof e.code === 'string' && /^[0-9A-Z]{5}$/.test(e.code)) return e.code;
    e = 'cause' in e ? e.cause : undefined;
  }
  return undefined;
}
