/**
 * An upgrade with two replicas starting at once: two separate processes apply the migrations to
 * one fresh database at the same moment. The advisory lock in server/db/migrate.ts makes the
 * second wait and then find nothing to do (docs/deploy.md, "Upgrading").
 */
import { spawn } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import postgres from 'postgres';
import { afterEach, describe, expect, it } from 'vitest';
import { MIGRATIONS_FOLDER } from '../../server/db/migrate.js';
import { type ScratchDatabase,scratchDatabase } from '../support/db.js';

const root = join(import.meta.dirname, '..', '..');

/** A process that imports the migrator, waits for `startAt` (epoch ms), migrates and reports its time. */
function migrateInProcess(url: string, startAt: number): Promise<{ code: number | null; output: string }> {
  const script = `
    import { runMigrations } from './server/db/migrate.ts';
    await new Promise((r) => setTimeout(r, Math.max(0, ${startAt} - Date.now())));
    await runMigrations(process.env.MIGRATE_URL);
    console.log('migrated');
  `;
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], {
      cwd: root,
      env: { ...process.env, MIGRATE_URL: url },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    child.stdout.on('data', (d: Buffer) => (output += d.toString()));
    child.stderr.on('data', (d: Buffer) => (output += d.toString()));
    child.once('error', reject);
    child.once('exit', (code) => resolve({ code, output }));
  });
}

describe('migrations at start', () => {
  let db: ScratchDatabase | undefined;
  afterEach(async () => {
    await db?.drop();
    db = undefined;
  });

  it('succeed in two processes started at the same moment on one empty database, applying each migration once', async () => {
    db = await scratchDatabase('ecg_migrate_race');
    // Both processes load first and start migrating together, so the race is on the lock, not on start-up.
    const startAt = Date.now() + 8_000;
    const runs = await Promise.all([migrateInProcess(db.url, startAt), migrateInProcess(db.url, startAt)]);
    for (const run of runs) {
      expect(run.code, run.output).toBe(0);
      expect(run.output).toContain('migrated');
    }

    const sql = postgres(db.url, { max: 1, onnotice: () => {} });
    try {
      const applied = await sql<{ hash: string }[]>`select hash from drizzle.__drizzle_migrations`;
      const journal = JSON.parse(await readFile(join(MIGRATIONS_FOLDER, 'meta', '_journal.json'), 'utf8')) as { entries: unknown[] };
      expect(applied).toHaveLength(journal.entries.length);
      expect(new Set(applied.map((r) => r.hash)).size).toBe(applied.length);
      const tables = await sql<{ table_name: string }[]>`
        select table_name from information_schema.tables where table_schema = 'public' order by table_name`;
      expect(tables.map((t) => t.table_name)).toEqual(['job_events', 'jobs', 'rate_limit_hits', 'result_uploads', 'webhook_attempts', 'webhook_deliveries', 'webhook_outbox']);
    } finally {
      await sql.end({ timeout: 5 });
    }
  }, 90_000);
});
