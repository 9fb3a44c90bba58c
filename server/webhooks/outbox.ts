/**
 * The SQL of consumer webhook delivery (docs/webhooks.md). Rows are written by server/jobs/store.ts
 * with the job's terminal transition; this module claims due rows, records each attempt with its
 * outcome in one statement, and prunes finished rows. It never touches `jobs`.
 */
import type { Sql } from '../db/client.js';

export interface ClaimedDelivery {
  id: string;
  jobId: string;
  url: string;
  /** The JSON body exactly as stored, the same text on every attempt. */
  payload: string;
  attempts: number;
}

export interface AttemptOutcome {
  ok: boolean;
  statusCode: number | null;
  error: string | null;
  durationMs: number;
  /** Wait before the next attempt, when this one failed. */
  retryInMs: number;
}

const MS = `* interval '1 millisecond'`;

export function createOutbox(sql: Sql) {
  return {
    /**
     * Leases up to `limit` due rows for `leaseMs`: rows another process holds are skipped (FOR UPDATE
     * SKIP LOCKED), and a leased row is not due again until its lease ends, so two processes never
     * send one row at once; a process that dies mid-attempt leaves a lease that expires, and the row
     * is sent again (with the same `webhook-id`).
     */
    async claim(limit: number, leaseMs: number): Promise<ClaimedDelivery[]> {
      if (limit <= 0) return [];
      return sql.unsafe<ClaimedDelivery[]>(
        `update webhook_outbox o set next_attempt_at = now() + $2::bigint ${MS}
          where o.id in (select id from webhook_outbox where delivered_at is null and gave_up_at is null and next_attempt_at <= now()
            order by next_attempt_at limit $1::int for update skip locked)
          returning o.id, o.job_id as "jobId", o.url, o.payload::text as payload, o.attempts`,
        [limit, leaseMs],
        { prepare: true },
      );
    },

    /**
     * Records one finished attempt and its consequence, in one statement: delivered; or the next
     * attempt at `now() + retryInMs`, but no later than `giveUpAfterMs` after the event; or, past that
     * point, given up. Returns what became of the row.
     */
    async record(id: string, o: AttemptOutcome, giveUpAfterMs: number): Promise<'delivered' | 'retrying' | 'gave_up' | 'gone'> {
      const [row] = await sql.unsafe<{ delivered: boolean; gaveUp: boolean }[]>(
        `with attempt as (insert into webhook_attempts (outbox_id, status_code, error, duration_ms)
            select id, $3::int, $4::text, $5::int from webhook_outbox where id = $1::text)
          update webhook_outbox set attempts = attempts + 1,
            delivered_at = case when $2::bool then now() end,
            last_error = case when $2::bool then null else coalesce($4::text, 'HTTP ' || $3::int) end,
            gave_up_at = case when not $2::bool and now() >= created_at + $7::bigint ${MS} then now() end,
            next_attempt_at = case when $2::bool or now() >= created_at + $7::bigint ${MS} then null
              else least(now() + $6::bigint ${MS}, created_at + $7::bigint ${MS}) end
          where id = $1::text
          returning delivered_at is not null as delivered, gave_up_at is not null as "gaveUp"`,
        [id, o.ok, o.statusCode, o.error, Math.round(o.durationMs), Math.round(o.retryInMs), giveUpAfterMs],
        { prepare: true },
      );
      if (!row) return 'gone';
      return row.delivered ? 'delivered' : row.gaveUp ? 'gave_up' : 'retrying';
    },

    /** Deletes up to `limit` rows delivered (or given up) more than `olderThanMs` ago, with their attempts; one bounded statement. */
    async prune(olderThanMs: number, limit = 1000): Promise<number> {
      const rows = await sql.unsafe(
        `delete from webhook_outbox where id in (select id from webhook_outbox
          where coalesce(delivered_at, gave_up_at) < now() - $1::bigint ${MS} limit $2::int)`,
        [olderThanMs, limit],
        { prepare: true },
      );
      return rows.count;
    },
  };
}

export type Outbox = ReturnType<typeof createOutbox>;
