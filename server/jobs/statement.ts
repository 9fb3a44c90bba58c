/**
 * The SQL text of a decision's parts for server/jobs/store.ts, which alone assembles them into the
 * statement that writes a job: placeholders and casts, the patch's columns, and the consumer-webhook
 * outbox row of a terminal transition. Nothing here runs SQL.
 */
import type { DbTime, JobPatch } from './lifecycle.js';
import { type ResultUpload, UploadedColumn } from './result-upload.js';

/** Each patch field's column and how its value is cast. */
export const COLUMNS: Record<keyof JobPatch, [column: string, cast: string]> = {
  status: ['status', 'text'],
  progress: ['progress', 'int'],
  message: ['message', 'text'],
  errorCode: ['error_code', 'text'],
  errorMessage: ['error_message', 'text'],
  failedBy: ['failed_by', 'text'],
  dispatchAttempts: ['dispatch_attempts', 'int'],
  dispatchedAt: ['dispatched_at', 'time'],
  nextDispatchAt: ['next_dispatch_at', 'time'],
  lastHeardAt: ['last_heard_at', 'time'],
  completedAt: ['completed_at', 'time'],
  result: ['result', 'json'],
  rawResult: ['raw_result', 'json'],
};

/** Builds one statement's text and parameters; `$n` placeholders are numbered as values are added. */
export class Statement {
  readonly params: unknown[] = [];
  /** A result the statement takes from its `result_uploads` row (server/jobs/result-upload.ts), written first. */
  upload: { id: string; values: ResultUpload } | undefined;
  value(v: unknown, cast: string): string {
    this.params.push(v);
    return `$${this.params.length}::${cast}`;
  }
  time(t: DbTime): string {
    return t.plusMs === 0 ? 'now()' : `now() + ${this.value(t.plusMs, 'int')} * interval '1 millisecond'`;
  }
  /** A patch value as SQL: times are the database's `now()`, JSON goes in as text (already serialised once). */
  set(cast: string, v: unknown): string {
    if (v === null) return 'null';
    if (cast === 'time') return this.time(v as DbTime);
    if (v instanceof UploadedColumn) {
      this.upload ??= { id: crypto.randomUUID(), values: v.upload };
      return `(select ${v.column} from upload)`;
    }
    if (cast === 'json') return `${this.value(JSON.stringify(v), 'text')}::jsonb`;
    return this.value(v, cast);
  }
}

const ISO = (col: string) => `to_char(${col} at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"')`;

/**
 * The consumer webhook of a terminal transition (docs/webhooks.md): an outbox row, in the statement
 * that stores the transition, for a job that has a `webhook_url`. `jobs j` is the row as it was
 * before the statement (its url and creation time do not change); `changed` is the row after it.
 */
export function outboxFor(s: Statement, patch: JobPatch): string {
  const failed = patch.status === 'failed';
  const data = `jsonb_build_object('job_id', c.id, 'status', c.status, 'progress', c.progress, 'message', c.message,
    'error_code', ${s.value(failed ? patch.errorCode ?? null : null, 'text')}, 'error_message', ${s.value(failed ? patch.errorMessage ?? null : null, 'text')},
    'status_url', '/api/upload-video/status/' || c.id, 'created_at', ${ISO('j.created_at')}, 'finished_at', ${ISO('now()')})`;
  return `outbox as (insert into webhook_outbox (job_id, url, event_type, payload)
    select c.id, j.webhook_url, 'job.' || c.status, jsonb_build_object('type', 'job.' || c.status, 'timestamp', ${ISO('now()')}, 'data', ${data})
    from changed c join jobs j on j.id = c.id where j.webhook_url is not null)`;
}
