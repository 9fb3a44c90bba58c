/**
 * What the metrics read from the database at scrape time: cheap, one grouped count of jobs and one
 * look at pg_stat_activity. postgres.js does not expose its pool's state, so connections are counted
 * by the server (every backend process's pool, by `application_name`) next to this pool's size.
 */
import { sql } from 'drizzle-orm';
import type { DatabaseHandle } from '../db/client.js';
import type { ScrapeSources } from './metrics.js';

export function scrapeSources(database: DatabaseHandle, poolSize: number): ScrapeSources {
  return {
    poolSize,
    async jobCounts() {
      const rows = await database.db.execute<{ status: string; count: number }>(sql`select status, count(*)::int as count from jobs group by status`);
      return rows.map((r) => ({ status: r.status, count: Number(r.count) }));
    },
    async connections() {
      const rows = await database.db.execute<{ state: string; count: number }>(sql`
        select coalesce(state, 'unknown') as state, count(*)::int as count from pg_stat_activity
        where datname = current_database() and application_name = 'ecg-backend' and pid <> pg_backend_pid()
        group by 1`);
      return rows.map((r) => ({ state: r.state, count: Number(r.count) }));
    },
  };
}
