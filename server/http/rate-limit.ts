/**
 * The request-process rate limit (docs/auth.md, docs/limits.md: 5 jobs a minute per client by
 * default), kept in PostgreSQL so that every backend process shares one count: a client gets its
 * limit in total, however many replicas answer it.
 *
 * One statement per hit: an upsert on the `(client_key, window_start)` row of the current fixed
 * one-minute window that returns the new count. Only requests that create a job keep their hit: a
 * refused request (unknown file, an idempotent replay, a 429 itself) gives it back, so one typo
 * does not lock a user out. Answers carry `RateLimit-Policy` and `RateLimit`
 * (draft-ietf-httpapi-ratelimit-headers) and, when refused, `Retry-After`.
 */
import { sql } from 'drizzle-orm';
import type { Context } from 'hono';
import type { Database } from '../db/client.js';
import { ApiError } from '../errors.js';

export const WINDOW_SECONDS = 60;
const POLICY = 'per-client';

export interface RateLimiter {
  /**
   * Runs `create` under the client's limit: throws RATE_LIMITED (429) when the client has no hit
   * left, and keeps the hit only when `kept(result)` (the request created a job).
   */
  limit<T>(c: Context, key: string, create: () => Promise<T>, kept: (result: T) => boolean): Promise<T>;
}

/** Deletes the rows of windows that have ended; the watchdog calls it (server/jobs/dispatcher.ts). */
export async function pruneRateLimitHits(db: Database): Promise<number> {
  const rows = await db.execute(sql`delete from rate_limit_hits where window_start < now() - ${sql.raw(`interval '${2 * WINDOW_SECONDS} seconds'`)} returning 1`);
  return rows.length;
}

/** The window a hit falls in, computed by the database so that every process agrees on it. */
const WINDOW_START = sql.raw(`to_timestamp(floor(extract(epoch from now()) / ${WINDOW_SECONDS}) * ${WINDOW_SECONDS})`);

export function createRateLimiter(db: Database, limitPerMinute: number): RateLimiter {
  async function hit(key: string): Promise<{ count: number; windowStart: string; resetSeconds: number }> {
    const rows = await db.execute<{ count: number; window_start: string; reset: number }>(sql`
      insert into rate_limit_hits as r (client_key, window_start, count) values (${key}, ${WINDOW_START}, 1)
      on conflict (client_key, window_start) do update set count = r.count + 1
      returning r.count, r.window_start::text as window_start,
        ceil(extract(epoch from (r.window_start + ${sql.raw(`interval '${WINDOW_SECONDS} seconds'`)} - now())))::int as reset`);
    const row = rows[0]!;
    return { count: Number(row.count), windowStart: row.window_start, resetSeconds: Math.max(1, Number(row.reset)) };
  }

  async function giveBack(key: string, windowStart: string): Promise<void> {
    await db.execute(sql`update rate_limit_hits set count = count - 1 where client_key = ${key} and window_start = ${windowStart}::timestamptz and count > 0`);
  }

  function headers(c: Context, remaining: number, reset: number): void {
    c.header('RateLimit-Policy', `"${POLICY}";q=${limitPerMinute};w=${WINDOW_SECONDS}`);
    c.header('RateLimit', `"${POLICY}";r=${Math.max(0, remaining)};t=${reset}`);
  }

  return {
    async limit<T>(c: Context, key: string, create: () => Promise<T>, kept: (result: T) => boolean): Promise<T> {
      if (limitPerMinute <= 0) return create();
      const { count, windowStart, resetSeconds } = await hit(key);
      if (count > limitPerMinute) {
        await giveBack(key, windowStart);
        const policy = { 'RateLimit-Policy': `"${POLICY}";q=${limitPerMinute};w=${WINDOW_SECONDS}`, RateLimit: `"${POLICY}";r=0;t=${resetSeconds}` };
        throw new ApiError(
          'RATE_LIMITED',
          `Too many requests: ${limitPerMinute} jobs a minute per client; try again in ${resetSeconds} seconds.`,
          { retry_after: resetSeconds },
          { 'Retry-After': String(resetSeconds), ...policy },
        );
      }
      let result: T;
      try {
        result = await create();
      } catch (err) {
        await giveBack(key, windowStart).catch(() => {});
        throw err;
      }
      const keep = kept(result);
      if (!keep) await giveBack(key, windowStart);
      headers(c, limitPerMinute - (keep ? count : count - 1), resetSeconds);
      return result;
    },
  };
}
