/**
 * The job reads of the hot paths, as prepared postgres.js statements: each selects only the columns
 * its path needs, and the stored result only for a completed job, as text to be spliced into the
 * response unparsed (server/jobs/mapper.ts).
 */
import type { Sql } from '../db/client.js';
import type { JobStatus } from '../generated/v1.1/routes.js';

/** What the status body and its ETag are made of. `result` is the stored JSON text, only when completed. */
export interface JobView {
  id: string;
  status: JobStatus;
  progress: number;
  message: string | null;
  language: string;
  owner: string | null;
  version: number;
  errorCode: string | null;
  errorMessage: string | null;
  /** ISO 8601, UTC, milliseconds. */
  createdAt: string;
  updatedAt: string;
  result: string | null;
  /** Seconds from the hand-over to the ML server to the last change, while processing (the ETA's rate). */
  runSeconds: number | null;
}

export interface JobListRow {
  id: string;
  status: JobStatus;
  progress: number;
  fileKey: string;
  owner: string | null;
  errorCode: string | null;
  /** ISO 8601, UTC, milliseconds. */
  createdAt: string;
  updatedAt: string;
}

/** A keyset position in the job list (newest first): the last row's `created_at` and id. */
export interface ListPosition {
  createdAt: string;
  id: string;
}

/** A timestamp as the API writes it (`Date.prototype.toISOString`'s form), formatted by the database. */
const iso = (column: string) => `to_char(${column} at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"')`;

const LIST_COLUMNS = `id, status, progress, file_key as "fileKey", owner, error_code as "errorCode", ${iso('created_at')} as "createdAt",
  ${iso('updated_at')} as "updatedAt", to_char(created_at at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"') as "position"`;
const VIEW = `select id, status, progress, message, language, owner, version, error_code as "errorCode", error_message as "errorMessage",
  ${iso('created_at')} as "createdAt", ${iso('updated_at')} as "updatedAt", case when status = 'completed' then result::text end as result,
  case when status = 'processing' then extract(epoch from updated_at - coalesce(dispatched_at, created_at))::float8 end as "runSeconds"
  from jobs where id = $1::uuid`;

export interface ListOptions {
  status?: JobStatus | undefined;
  limit: number;
  offset: number;
  after?: ListPosition | undefined;
  /** Only this owner's jobs (the caller's own list), by the rule of `sameOwner` (server/http/auth.ts). */
  owner?: string | undefined;
  /** ISO 8601: created at or after / strictly before. */
  createdAfter?: string | undefined;
  createdBefore?: string | undefined;
}

export function createJobReads(sql: Sql) {
  /** Jobs stored before owners were namespaced carry a JWT's bare `sub` (docs/auth.md); they are `jwt:<sub>`'s too. */
  const ownedBy = (owner: string) => {
    if (!owner.startsWith('jwt:')) return sql`owner = ${owner}::text`;
    return sql`(owner = ${owner}::text or (owner = ${owner.slice(4)}::text and owner not like 'jwt:%' and owner not like 'token:%'))`;
  };
  return {
    async view(id: string): Promise<JobView | undefined> {
      const [row] = await sql.unsafe<JobView[]>(VIEW, [id], { prepare: true });
      return row;
    },

    /** A job's owner and uploaded file (the video route), without its result. */
    async get(id: string): Promise<{ id: string; owner: string | null; status: JobStatus; fileKey: string; videoDeleted: boolean } | undefined> {
      const [row] = await sql<{ id: string; owner: string | null; status: JobStatus; fileKey: string; videoDeleted: boolean }[]>`
        select id, owner, status, file_key as "fileKey", video_deleted_at is not null as "videoDeleted" from jobs where id = ${id}::uuid`;
      return row;
    },

    /** Just what an ETag check needs, without the (possibly megabytes of) result. */
    async getVersion(id: string): Promise<{ id: string; owner: string | null; version: number } | undefined> {
      const [row] = await sql<{ id: string; owner: string | null; version: number }[]>`select id, owner, version from jobs where id = ${id}::uuid`;
      return row;
    },

    async jobIdForCallbackToken(token: string): Promise<string | undefined> {
      const [row] = await sql<{ id: string }[]>`select id from jobs where callback_token = ${token}`;
      return row?.id;
    },

    /**
     * One page of the job list, newest first. After a position: the rows strictly older in
     * (created_at, id) order, found through the index, however deep the page (keyset paging).
     * Otherwise from `offset`, for clients that page by offset (docs/api-versions.md).
     */
    async list(opts: ListOptions): Promise<Array<JobListRow & { position: string }>> {
      const conditions = [
        ...(opts.status ? [sql`status = ${opts.status}::text`] : []),
        ...(opts.owner !== undefined ? [ownedBy(opts.owner)] : []),
        ...(opts.createdAfter ? [sql`created_at >= ${opts.createdAfter}::timestamptz`] : []),
        ...(opts.createdBefore ? [sql`created_at < ${opts.createdBefore}::timestamptz`] : []),
        ...(opts.after ? [sql`(created_at, id) < (${opts.after.createdAt}::timestamptz, ${opts.after.id}::uuid)`] : []),
      ];
      const where = conditions.length === 0 ? sql`` : conditions.reduce((all, c) => sql`${all} and ${c}`, sql`where true`);
      const skip = opts.after ? sql`` : sql`offset ${opts.offset}::int`;
      return sql<Array<JobListRow & { position: string }>>`
        select ${sql.unsafe(LIST_COLUMNS)} from jobs ${where} order by created_at desc, id desc limit ${opts.limit}::int ${skip}`;
    },

    /** The number of jobs (with `status`), for clients that page by offset. */
    async count(status?: JobStatus): Promise<number> {
      const [row] = status ? await sql<{ n: number }[]>`select count(*)::int as n from jobs where status = ${status}::text` : await sql<{ n: number }[]>`select count(*)::int as n from jobs`;
      return row?.n ?? 0;
    },
  };
}
