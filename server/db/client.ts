/**
 * Database handle: Drizzle over postgres.js, with the schema attached (so `db.query.jobs` works).
 */
import { drizzle, type PostgresJsDatabase } from 'drizzle-orm/postgres-js';
import postgres from 'postgres';
import * as schema from '../../drizzle/schema.js';

export type Schema = typeof schema;
/** Drizzle, with the postgres.js client it runs on (`$client`) for the prepared statements of the hot paths. */
export type Database = PostgresJsDatabase<Schema> & { $client: Sql };
export type Sql = postgres.Sql;

export interface DatabaseOptions {
  /** Pool size (postgres.js `max`). Default 10. */
  max?: number;
  /** Seconds an idle connection stays open. Default 30. */
  idleTimeoutSeconds?: number;
  /** Seconds to wait for a connection. Default 10. */
  connectTimeoutSeconds?: number;
  /** `application_name` shown in pg_stat_activity. Default "ecg-backend". */
  applicationName?: string;
  /** Receives server NOTICE messages; ignored by default (postgres.js would print them). */
  onNotice?: (notice: postgres.Notice) => void;
  /** Log every SQL statement Drizzle runs (debugging). */
  logQueries?: boolean;
}

export interface DatabaseHandle {
  db: Database;
  sql: Sql;
  /** Closes the pool, waiting up to `timeoutSeconds` (default 5) for running queries. */
  close(timeoutSeconds?: number): Promise<void>;
}

export function createDatabase(url: string, opts: DatabaseOptions = {}): DatabaseHandle {
  const sql = postgres(url, {
    max: opts.max ?? 10,
    idle_timeout: opts.idleTimeoutSeconds ?? 30,
    connect_timeout: opts.connectTimeoutSeconds ?? 10,
    onnotice: opts.onNotice ?? (() => {}),
    connection: { application_name: opts.applicationName ?? 'ecg-backend' },
  });
  const db = drizzle(sql, { schema, logger: opts.logQueries ?? false });
  let closing: Promise<void> | undefined;
  return {
    db,
    sql,
    close(timeoutSeconds = 5) {
      closing ??= sql.end({ timeout: timeoutSeconds });
      return closing;
    },
  };
}
