/**
 * The dispatcher's claim and watchdog queries (server/jobs/dispatcher.ts, docs/dispatch.md), in their
 * SQL shape, for EXPLAIN (ANALYZE, BUFFERS) on the bench's table. When those queries change, change
 * them here too: this file is all that knows them.
 */
import type postgres from 'postgres';

/** The dispatcher's defaults: ML_MAX_CONCURRENT_JOBS is compared in code, the intervals in SQL. */
const SILENCE = '1800000 milliseconds';
const CAP = '1800000 milliseconds';

export const QUERIES: ReadonlyArray<{ name: string; sql: string}> = [
  {
    name: 'claim: jobs with the ML server',
    sql: `select count(*)::int from jobs
      where status = 'processing' or (status = 'pending' and dispatched_at is not null and next_dispatch_at > now())`,
  },
  {
    name: 'claim: oldest due pending job',
    sql: `select id from jobs where status = 'pending' and next_dispatch_at <= now()
      order by created_at, id limit 1 for update skip locked`,
  },
  {
    name: 'watchdog: time out silent jobs',
    sql: `update jobs set status = 'failed', failed_by = 'backend', error_code = 'PROCESSING_TIMEOUT',
      error_message = case when coalesce(dispatched_at, created_at) < now() - '${CAP}'::interval
        then 'Processing took longer than 1800 seconds.' else 'No word from the ML server for 1800 seconds.' end,
      version = version + 1, updated_at = now()
      where status = 'processing' and (coalesce(last_heard_at, dispatched_at, created_at) < now() - '${SILENCE}'::interval
        or coalesce(dispatched_at, created_at) < now() - '${CAP}'::interval)
      returning id, progress`,
  },
  {
    name: 'watchdog: forget old webhook-ids',
    sql: `delete from webhook_deliveries where received_at < now() - interval '10 minutes'`,
  },
];

export interface Explained {
  name: string;
  planningMs: number;
  executionMs: number;
  /** Shared buffers hit and read, from the plan's top node. */
  sharedHit: number;
  sharedRead: number;
  plan: string[];
}

/** Each query under EXPLAIN (ANALYZE, BUFFERS), in a transaction that is rolled back: the writes change nothing. */
export async function explainAll(sql: postgres.Sql): Promise<Explained[]> {
  const out: Explained[] = [];
  for (const q of QUERIES) {
    const plan = await sql
      .begin(async (tx) => {
        const rows = await tx.unsafe<{ 'QUERY PLAN': string }[]>(`explain (analyze, buffers) ${q.sql}`);
        throw new Rollback(rows.map((r) => r['QUERY PLAN']));
      })
      .catch((err: unknown) => {
        if (err instanceof Rollback) return err.plan;
        throw err;
      });
    const time = (label: string) => Number(plan.find((l) => l.startsWith(label))?.match(/([\d.]+) ms/)?.[1] ?? NaN);
    const buffers = plan.find((l) => l.trim().startsWith('Buffers:')) ?? '';
    out.push({
      name: q.name,
      planningMs: time('Planning Time'),
      executionMs: time('Execution Time'),
      sharedHit: Number(buffers.match(/hit=(\d+)/)?.[1] ?? 0),
      sharedRead: Number(buffers.match(/read=(\d+)/)?.[1] ?? 0),
      plan,
    });
  }
  return out;
}

class Rollback extends Error {
  constructor(readonly plan: string[]) {
    super('rollback');
  }
}
