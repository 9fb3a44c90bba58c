/**
 * The bench's own database: created fresh on the given server with the shipped migrations, seeded,
 * and dropped at the end, so every target reads and writes the same rows and nothing else.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import postgres from 'postgres';
import { runMigrations } from '../server/db/migrate.js';
import { normalizeResult } from '../server/jobs/normalize.js';
import type { bigResult } from './payload.js';

export interface BenchDatabase {
  name: string;
  url: string;
  sql: postgres.Sql;
  serverVersion: string;
  /** A processing job, as the dispatcher leaves it after the ML server accepted it. */
  newJob(): Promise<string>;
  drop(): Promise<void>;
}

const quiet = { onnotice: () => {}, max: 4 } as const;

export async function createBenchDatabase(serverUrl: string): Promise<BenchDatabase> {
  const admin = postgres(serverUrl, { ...quiet, max: 1 });
  const name = `ecg_bench_${randomBytes(4).toString('hex')}`;
  let sql: postgres.Sql | undefined;
  try {
    const [{ server_version: serverVersion } = { server_version: '?' }] = await admin<{ server_version: string }[]>`show server_version`;
    await admin.unsafe(`create database ${name}`);
    const url = new URL(serverUrl);
    url.pathname = `/${name}`;
    await runMigrations(url.href);
    const db = postgres(url.href, quiet);
    sql = db;
    let dropped = false;
    return {
      name,
      url: url.href,
      sql: db,
      serverVersion,
      async newJob() {
        const id = randomUUID();
        await db`insert into jobs (id, status, progress, message, file_key, callback_token, dispatched_at, last_heard_at, dispatch_attempts)
          values (${id}, 'processing', 0, 'Sent to the ML server', 'videos/anonymous/20261201_000000_bench.mp4', ${randomBytes(24).toString('base64url')}, now(), now(), 1)`;
        return id;
      },
      async drop() {
        if (dropped) return;
        dropped = true;
        await db.end({ timeout: 5 });
        await admin.unsafe(`drop database if exists ${name} with (force)`);
        await admin.end({ timeout: 5 });
      },
    };
  } catch (err) {
    await sql?.end({ timeout: 1 });
    await admin.unsafe(`drop database if exists ${name} with (force)`).catch(() => {});
    await admin.end({ timeout: 1 });
    throw err;
  }
}

/** `count` processing jobs, plus one completed job holding `result` (stored as the backend would). */
export async function seed(db: BenchDatabase, count: number, result: ReturnType<typeof bigResult>): Promise<{ jobs: string[]; completed: string }> {
  const jobs: string[] = [];
  for (let i = 0; i < count; i++) jobs.push(await db.newJob());
  const completed = randomUUID();
  const normalized = normalizeResult(result, { filename: 'long.mp4', language: null });
  await db.sql`insert into jobs (id, status, progress, message, file_key, callback_token, result, raw_result, completed_at, version)
    values (${completed}, 'completed', 100, 'Completed', 'videos/anonymous/20261201_000000_long.mp4', ${randomBytes(24).toString('base64url')},
      ${db.sql.json(normalized)}, ${db.sql.json(result)}, now(), 3)`;
  return { jobs, completed };
}

/**
 * `rows` finished jobs of the past year (mostly completed, some failed or cancelled) in one statement,
 * with an event each, then VACUUM ANALYZE with index cleanup as autovacuum would eventually, then a
 * CHECKPOINT: the same figures on a big table at rest.
 */
export async function fillFinishedJobs(db: BenchDatabase, rows: number): Promise<void> {
  await db.sql`
    insert into jobs (id, status, progress, message, language, file_key, file_size, content_type, error_code, error_message,
      failed_by, callback_token, dispatch_attempts, dispatched_at, last_heard_at, version, created_at, updated_at, completed_at)
    select gen_random_uuid(), s.status, case when s.status = 'completed' then 100 else 40 end, s.message, 'auto',
      'videos/anonymous/old_' || g || '.mp4', 10485760, 'video/mp4',
      case when s.status = 'failed' then 'PROCESSING_ERROR' end, case when s.status = 'failed' then 'The ML server reported a failure.' end,
      case when s.status = 'failed' then 'ml' end, 'old-' || g, 1, t.at, t.at + interval '3 minutes', 4, t.at, t.at + interval '4 minutes',
      case when s.status = 'completed' then t.at + interval '4 minutes' end
    from generate_series(1, ${rows}::int) g
    cross join lateral (select now() - interval '365 days' * (g::float8 / ${rows}::int) as at) t
    cross join lateral (select case when g % 20 = 0 then 'failed' when g % 50 = 1 then 'cancelled' else 'completed' end as status,
                               case when g % 20 = 0 then 'Transcribing' when g % 50 = 1 then 'Cancelled' else 'Completed' end as message) s`;
  await db.sql`insert into job_events (job_id, kind, from_status, to_status, progress, auth, at)
    select id, 'callback', 'processing', status, progress, 'signature', updated_at from jobs where file_key like 'videos/anonymous/old\\_%'`;
  // INDEX_CLEANUP ON: a plain VACUUM skips the indexes when few heap pages hold dead rows (as here,
  // where a million live rows dwarf the seeded jobs' updates), leaving the partial indexes of the claim
  // and the watchdog full of dead entries that autovacuum would clear in time.
  await db.sql`vacuum (analyze, index_cleanup on) jobs`;
  await db.sql`vacuum (analyze, index_cleanup on) job_events`;
  // The fill and the vacuum leave hundreds of megabytes of dirty pages and WAL behind. A checkpoint
  // writes them out now, rather than in the background of the first figures measured afterwards.
  await db.sql`checkpoint`.catch((err: unknown) => console.log(`  (no CHECKPOINT after the fill: ${err instanceof Error ? err.message : String(err)})`));
}
