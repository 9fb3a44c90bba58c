import fs from 'node:fs/promises';
import path from 'node:path';
import postgres from 'postgres';
import { afterEach, describe, expect, it } from 'vitest';
import { MIGRATIONS_FOLDER, runMigrations } from '../../server/db/migrate.js';
import { type ScratchDatabase,scratchDatabase } from '../support/db.js';

async function journalLength(): Promise<number> {
  const journal = JSON.parse(await fs.readFile(path.join(MIGRATIONS_FOLDER, 'meta', '_journal.json'), 'utf8')) as {
    entries: unknown[];
  };
  return journal.entries.length;
}

async function inspect(url: string) {
  const sql = postgres(url, { max: 1, onnotice: () => {} });
  try {
    const tables = await sql<{ table_name: string }[]>`
      select table_name from information_schema.tables where table_schema = 'public' order by table_name`;
    const applied = await sql<{ n: number }[]>`select count(*)::int as n from drizzle.__drizzle_migrations`;
    return { tables: tables.map((t) => t.table_name), applied: applied[0]?.n };
  } finally {
    await sql.end({ timeout: 5 });
  }
}

describe('runMigrations', () => {
  let scratch: ScratchDatabase | undefined;
  afterEach(async () => {
    await scratch?.drop();
    scratch = undefined;
  });

  it('resolves the migrations folder from the module, not the working directory', async () => {
    expect(path.isAbsolute(MIGRATIONS_FOLDER)).toBe(true);
    expect(MIGRATIONS_FOLDER.endsWith(path.join('drizzle', 'migrations'))).toBe(true);
    expect(await journalLength()).toBeGreaterThan(0);
  });

  it('applies to an empty database and is idempotent', async () => {
    scratch = await scratchDatabase();
    await runMigrations(scratch.url);
    const first = await inspect(scratch.url);
    expect(first.tables).toEqual(['job_events', 'jobs', 'rate_limit_hits', 'result_uploads', 'webhook_attempts', 'webhook_deliveries', 'webhook_outbox']);
    expect(first.applied).toBe(await journalLength());

    await runMigrations(scratch.url);
    expect(await inspect(scratch.url)).toEqual(first);
  });

  it('lets concurrent starts both succeed', async () => {
    scratch = await scratchDatabase();
    const url = scratch.url;
    const results = await Promise.allSettled([runMigrations(url), runMigrations(url), runMigrations(url)]);
    expect(results.map((r) => r.status)).toEqual(['fulfilled', 'fulfilled', 'fulfilled']);
    expect((await inspect(url)).applied).toBe(await journalLength());
  });
});
