/**
 * The one module that writes jobs (docs/job-lifecycle.md). The lifecycle (server/jobs/lifecycle.ts)
 * decides what an input does to a snapshot of the job; this module stores the decision: the row and its
 * `job_events` row, always as ONE statement, durable before it is answered. Right after the commit,
 * the process's notifier (server/jobs/notifier.ts) sends `pg_notify('job_changed', '<id>:<version>')`
 * outside the write, so open event streams and status caches on every backend process see the change;
 * a transition resolves only once its notification has been sent.
 *
 * A transition is optimistic first: decide on the last snapshot this process saw of the job (or one
 * read without a lock), then write with a WHERE that holds only if the row is still that snapshot
 * (`version`, which every visible change bumps, and `dispatch_attempts`, which an invisible claim
 * changes). Nothing else a decision reads can change without one of the two moving, so a matching
 * row is exactly the row the lifecycle decided on, and the statement's own row lock makes the write
 * atomic. A row that moved falls back to the locked path: `select ... for update`, decide, the same
 * statement. Handlers, the dispatcher and the watchdog call only this module;
 * test/jobs/single-writer.test.ts keeps it that way.
 */
import type { JobRow } from '../../drizzle/schema.js';
import type { Database, Sql } from '../db/client.js';
import type { JobStatus, MlCallback } from '../generated/v1.1/routes.js';
import type { ScannedResult } from './callback-body.js';
import { created, decide, type Decision, type JobEvent, type JobInput, type JobPatch, type JobSnapshot, TERMINAL } from './lifecycle.js';
import { JOB_CHANNEL, notifierFor } from './notifier.js';
import { createJobReads } from './reads.js';
import { copyUpload, UploadedColumn } from './result-upload.js';
import { COLUMNS, outboxFor, Statement } from './statement.js';
import { storableJson } from './text.js';

export { JOB_CHANNEL };
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
/** "ECG" + 2 (migrations use + 1): the advisory lock that serialises claims across processes (docs/dispatch.md). */
const DISPATCH_LOCK = 0x4543_4702;
/** Snapshots remembered per process for the optimistic path; an evicted one costs one read. */
const SNAPSHOTS_MAX = 10_000;

type Runner = Pick<Sql, 'unsafe'>;
type Row = Record<string, unknown>;

export interface NewJob {
  id: string;
  fileKey: string;
  fileSize: number | null;
  contentType: string | null;
  language: string;
  owner: string | null;
  idempotencyKey: string | null;
  /** What the request asked for, to refuse a reused idempotency key (server/domain/idempotency.ts). */
  requestHash: string | null;
  callbackToken: string;
  /** Where the terminal event is delivered (docs/webhooks.md), already vetted. */
  webhookUrl?: string | null;
}

/** What a decision needs, and what the dispatcher needs to send a claimed job; never the result. */
export type LockedJob = JobSnapshot & Pick<JobRow, 'id' | 'owner' | 'callbackToken'>;
type Known = LockedJob & { version: number };

const SNAPSHOT = `id, status, progress, message, failed_by as "failedBy", dispatch_attempts as "dispatchAttempts",
  file_key as "fileKey", language, owner, callback_token as "callbackToken", version`;

/** The outcome of one input: the decision, and the job as it was before it. */
export type Transition = { job: LockedJob; decision: Decision } | { job: undefined; decision: undefined };
const NONE: Transition = { job: undefined, decision: undefined };

type Writable = Extract<Decision, { outcome: 'apply' }> | (Extract<Decision, { outcome: 'ignore' }> & { event: JobEvent });
/** Whether a decision writes anything: a change, or an ignored input's event. */
const writable = (d: Decision): d is Writable => d.outcome === 'apply' || (d.outcome === 'ignore' && d.event !== null);

/**
 * The one statement that stores a decision: the `webhook-id` (when given; nothing else happens for a
 * replayed one), the row and its event. With `guard`, it applies only to a row that
 * is still that snapshot; without, the caller holds the row lock.
 */
function statementFor(id: string, d: Writable, opts: { guard?: Known | undefined; webhookId?: string | undefined }): Statement & { text: string } {
  const s = new Statement();
  const jobId = s.value(id, 'uuid');
  const ctes: string[] = [];
  const conditions = [`id = ${jobId}`];
  if (opts.guard) conditions.push(`version = ${s.value(opts.guard.version, 'int')}`, `dispatch_attempts = ${s.value(opts.guard.dispatchAttempts, 'int')}`);
  if (opts.webhookId !== undefined) {
    ctes.push(`fresh as (insert into webhook_deliveries (webhook_id, job_id) values (${s.value(opts.webhookId, 'text')}, ${jobId}) on conflict do nothing returning 1)`);
    conditions.push('exists (select from fresh)');
  }
  const where = conditions.join(' and ');
  let source: string;
  if (d.outcome === 'apply') {
    const sets = Object.entries(d.patch)
      .filter(([, v]) => v !== undefined)
      .map(([key, v]) => {
        const [column, cast] = COLUMNS[key as keyof JobPatch];
        return `${column} = ${s.set(cast, v)}`;
      });
    // A claim is invisible to clients: version and updated_at stay (docs/job-lifecycle.md).
    if (d.visible) sets.push('version = version + 1', 'updated_at = now()');
    // The row is deleted whatever the statement decides: it never outlives the transaction.
    if (s.upload) ctes.push(`upload as (delete from result_uploads where id = ${s.value(s.upload.id, 'uuid')} returning raw, result)`);
    ctes.push(`changed as (update jobs set ${sets.join(', ')} where ${where} returning ${SNAPSHOT})`);
    source = 'changed';
  } else {
    // An ignored input changes nothing; its event is recorded only against the snapshot it was decided on.
    ctes.push(`changed as (select ${SNAPSHOT} from jobs where ${where})`);
    source = 'changed';
  }
  const e = d.event;
  if (e) {
    ctes.push(`event as (insert into job_events (job_id, kind, from_status, to_status, progress, auth, detail)
      select id, ${s.value(e.kind, 'text')}, ${s.value(e.from, 'text')}, ${s.value(e.to, 'text')}, ${s.value(e.progress, 'int')}, ${s.value(e.auth, 'text')}, ${s.set('json', e.detail)} from ${source})`);
  }
  if (d.outcome === 'apply' && d.patch.status && TERMINAL.has(d.patch.status)) ctes.push(outboxFor(s, d.patch));
  const fresh = opts.webhookId !== undefined ? '(select count(*) from fresh)::int as fresh' : '1 as fresh';
  const text = `with ${ctes.join(',\n')}\nselect ${fresh}, c.* from (values (1)) as one(x) left join changed c on true`;
  return Object.assign(s, { text });
}

/** What a stored statement said: whether the webhook-id was new, and the job after it (absent: the guard failed). */
async function run(db: Runner, st: Statement & { text: string }): Promise<{ fresh: boolean; after: Known | undefined }> {
  const [row] = await db.unsafe<Row[]>(st.text, st.params as never[], { prepare: true });
  const { fresh, ...job } = row ?? {};
  return { fresh: fresh === 1, after: job.id ? (job as unknown as Known) : undefined };
}

/** Told of every version this store writes (the status cache of server/jobs/events.ts). */
export interface WriteListener {
  wrote(id: string, version: number): void;
}

export function createJobStore(db: Database, listener?: WriteListener, opts: { onNotifyError?: (err: unknown) => void } = {}) {
  // Optional only for apps built without a database, to read their routes (test/contract/app-document.test.ts).
  const sql = db?.$client;
  const reads = createJobReads(sql);
  // One per database client, shared by the stores of a process; sends after the commit (module comment).
  const notifier = sql ? notifierFor(sql, opts.onNotifyError) : { send: async () => {} };
  /** The notification a stored decision owes, once its transaction has committed. */
  const announce = (d: Decision, after: Known | undefined): Promise<void> =>
    after && d.outcome === 'apply' && d.visible ? notifier.send([{ id: after.id, version: after.version }]) : Promise.resolve();
  const snapshots = new Map<string, Known>();
  const remember = (job: Known | undefined) => {
    if (!job) return;
    listener?.wrote(job.id, job.version);
    snapshots.delete(job.id);
    if (job.status === 'completed' || job.status === 'cancelled') return;
    snapshots.set(job.id, job);
    if (snapshots.size > SNAPSHOTS_MAX) snapshots.delete(snapshots.keys().next().value!);
  };
  const snapshotOf = async (runner: Runner, id: string, lock: boolean): Promise<Known | undefined> => {
    const [row] = await runner.unsafe<Row[]>(`select ${SNAPSHOT} from jobs where id = $1::uuid${lock ? ' for update' : ''}`, [id], { prepare: true });
    return row as Known | undefined;
  };

  /** Decides and stores one input under the row lock; `claimed`: this delivery's webhook-id is already ours. */
  async function locked(id: string, input: JobInput, webhookId: string | undefined): Promise<Transition> {
    let stored: Known | undefined;
    const t = await sql.begin<Transition>(async (tx) => {
      const job = await snapshotOf(tx, id, true);
      if (!job) return NONE;
      const decision = decide(job, input);
      if (!writable(decision)) return { job, decision };
      const statement = statementFor(id, decision, { webhookId });
      if (statement.upload) await copyUpload(tx, statement.upload.id, statement.upload.values);
      const { fresh, after } = await run(tx, statement);
      if (!fresh) return { job, decision: { outcome: 'ignore', reason: 'duplicate webhook-id', event: null } };
      stored = after;
      remember(after ?? job);
      return { job, decision };
    });
    if (t.decision) await announce(t.decision, stored);
    return t;
  }

  /** The optimistic path first (see the module comment), the locked path when the row moved. */
  async function transition(id: string, input: JobInput, webhookId?: string): Promise<Transition> {
    const job = snapshots.get(id) ?? (await snapshotOf(sql, id, false));
    if (!job) return NONE;
    const decision = decide(job, input);
    if (!writable(decision)) {
      // Nothing to write, but the answer must hold for the row as it is now.
      return snapshots.has(id) ? locked(id, input, webhookId) : { job, decision };
    }
    // A result written piece by piece needs a transaction around its COPY and the statement.
    if (decision.outcome === 'apply' && decision.patch.result instanceof UploadedColumn) return locked(id, input, webhookId);
    const { fresh, after } = await run(sql, statementFor(id, decision, { guard: job, webhookId }));
    if (!fresh) return { job, decision: { outcome: 'ignore', reason: 'duplicate webhook-id', event: null } };
    if (after) {
      remember(after);
      await announce(decision, after);
      return { job, decision };
    }
    snapshots.delete(id);
    // The webhook-id was stored by the statement above: the locked retry must not claim it again.
    return locked(id, input, undefined);
  }

  return {
    ...reads,

    /**
     * Stores a pending job and its `created` event in one statement, then notifies. With an
     * idempotency key the same owner already used, returns the earlier job instead.
     */
    async create(input: NewJob): Promise<{ id: string; status: JobStatus; requestHash: string | null; created: boolean }> {
      const job = storableJson(input);
      const { patch, event } = created();
      const s = new Statement();
      const text = `with made as (
          insert into jobs (id, status, file_key, file_size, content_type, language, owner, idempotency_key, request_hash, callback_token, next_dispatch_at, webhook_url)
          values (${s.value(job.id, 'uuid')}, ${s.value(patch.status, 'text')}, ${s.value(job.fileKey, 'text')}, ${s.value(job.fileSize, 'bigint')},
            ${s.value(job.contentType, 'text')}, ${s.value(job.language, 'text')}, ${s.value(job.owner, 'text')}, ${s.value(job.idempotencyKey, 'text')},
            ${s.value(job.requestHash, 'text')}, ${s.value(job.callbackToken, 'text')}, ${s.time(patch.nextDispatchAt)}, ${s.value(job.webhookUrl ?? null, 'text')})
          on conflict do nothing returning id, status, version),
        event as (insert into job_events (job_id, kind, from_status, to_status, progress, auth)
          select id, ${s.value(event.kind, 'text')}, null, ${s.value(event.to, 'text')}, ${s.value(event.progress, 'int')}, ${s.value(event.auth, 'text')} from made)
        select id, status, version from made`;
      const [row] = await sql.unsafe<Row[]>(text, s.params as never[], { prepare: true });
      if (row) {
        listener?.wrote(row.id as string, row.version as number);
        await notifier.send([{ id: row.id as string, version: row.version as number }]);
        return { id: row.id as string, status: row.status as JobStatus, requestHash: job.requestHash, created: true };
      }
      if (job.idempotencyKey === null) throw new Error('job insert conflicted without an idempotency key');
      const [existing] = await sql<{ id: string; status: JobStatus; requestHash: string | null }[]>`
        select id, status, request_hash as "requestHash" from jobs where idempotency_owner = ${job.owner ?? ''} and idempotency_key = ${job.idempotencyKey}`;
      if (!existing) throw new Error('idempotent job vanished');
      return { ...existing, created: false };
    },

    /** Applies one input to one job. */
    transition(id: string, input: JobInput): Promise<Transition> {
      return transition(id, input);
    },

    /**
     * Deletes a job the ML server is not working on (finished, or pending and never handed out), its
     * events (cascade) and its result, in one statement that also tells every process (a notification
     * without a version: caches forget it, streams end). `shared`: another job whose video is still
     * stored names the same file, which must then stay. Not deleted: `busy` when the job still exists.
     */
    async remove(id: string): Promise<{ deleted: true; fileKey: string; shared: boolean } | { deleted: false; busy: boolean }> {
      const [row] = await sql.unsafe<Row[]>(
        `with gone as (delete from jobs where id = $1::uuid and (status in ('completed', 'failed', 'cancelled') or (status = 'pending' and dispatched_at is null))
            returning id, file_key, video_deleted_at),
          note as (select pg_notify('${JOB_CHANNEL}', id::text) from gone)
        select g.file_key as "fileKey", g.video_deleted_at is not null or exists (select from jobs j where j.file_key = g.file_key and j.id <> g.id and j.video_deleted_at is null) as shared,
          (select count(*) from note)::int as notes from gone g`,
        [id],
        { prepare: true },
      );
      snapshots.delete(id);
      if (row) {
        listener?.wrote(id, Number.MAX_SAFE_INTEGER);
        return { deleted: true, fileKey: row.fileKey as string, shared: row.shared as boolean };
      }
      const [left] = await sql<{ n: number }[]>`select 1 as n from jobs where id = ${id}::uuid`;
      return { deleted: false, busy: left !== undefined };
    },

    /**
     * One retention sweep (server/jobs/retention.ts): up to `limit` finished jobs last changed more than
     * `olderThanMs` ago, rows other sweepers hold skipped. Without `deleteJobs`, marks their videos
     * deleted (`video_deleted_at`, a `video_deleted` event; invisible to status clients); with it,
     * deletes the jobs themselves. Returns each one's file, and whether a job with a stored video
     * still names it.
     */
    async sweepRetention(opts: { olderThanMs: number; limit: number; deleteJobs: boolean }): Promise<Array<{ id: string; fileKey: string; shared: boolean }>> {
      const due = `select id from jobs where status in ('completed', 'failed', 'cancelled') and updated_at < now() - $1::bigint * interval '1 millisecond'
        ${opts.deleteJobs ? '' : 'and video_deleted_at is null'} order by updated_at limit $2::int for update skip locked`;
      const change = opts.deleteJobs
        ? `done as (delete from jobs j using due where j.id = due.id returning j.id, j.file_key, j.video_deleted_at as was_gone, pg_notify('${JOB_CHANNEL}', j.id::text) as note)`
        : `done as (update jobs j set video_deleted_at = now() from due where j.id = due.id returning j.id, j.file_key, j.status, j.progress, null::timestamptz as was_gone),
          event as (insert into job_events (job_id, kind, from_status, to_status, progress, auth, detail)
            select id, 'video_deleted', status, status, progress, 'backend', '{"reason": "retention"}'::jsonb from done)`;
      return sql.unsafe<Array<{ id: string; fileKey: string; shared: boolean }>>(
        `with due as (${due}), ${change}
        select d.id, d.file_key as "fileKey", d.was_gone is not null or exists (select from jobs j where j.file_key = d.file_key
          and j.video_deleted_at is null and j.id not in (select id from done)) as shared from done d`,
        [opts.olderThanMs, opts.limit],
        { prepare: true },
      );
    },

    /**
     * Applies an authenticated ML callback. `webhookId`, when given, is remembered in the same
     * statement, so a replayed delivery is ignored exactly once. A `job_id` that is not a UUID is
     * no job of ours (the column refuses anything else). `scannedResult`: the result was left in the
     * request body (server/jobs/callback-body.ts) and `received` has none.
     */
    async callback(received: MlCallback, auth: Extract<JobInput, { type: 'callback' }>['auth'], webhookId?: string, scannedResult?: ScannedResult): Promise<Transition> {
      const report = storableJson(received);
      if (!UUID.test(report.job_id)) return NONE;
      return transition(report.job_id.toLowerCase(), { type: 'callback', report: scannedResult ? { ...report, scannedResult } : report, auth }, webhookId);
    },

    /**
     * Leases the oldest due pending job, unless `maxBusy` jobs are already with the ML server (or
     * leased to a dispatch in flight). The advisory lock makes the count and the claim one step
     * across all backend processes (docs/dispatch.md).
     */
    async claimNext(opts: { maxBusy: number; leaseMs: number }): Promise<LockedJob | undefined> {
      return sql.begin(async (tx) => {
        await tx`select pg_advisory_xact_lock(${DISPATCH_LOCK})`;
        const [busy] = await tx<{ n: number }[]>`select count(*)::int as n from jobs
          where status = 'processing' or (status = 'pending' and dispatched_at is not null and next_dispatch_at > now())`;
        if ((busy?.n ?? 0) >= opts.maxBusy) return undefined;
        const [due] = await tx.unsafe<Row[]>(`select ${SNAPSHOT} from jobs where status = 'pending' and next_dispatch_at <= now()
          order by created_at, id limit 1 for update skip locked`, [], { prepare: true });
        if (!due) return undefined;
        const job = due as unknown as Known;
        const decision = decide(job, { type: 'claim', leaseMs: opts.leaseMs });
        if (decision.outcome !== 'apply') return undefined;
        const { after } = await run(tx, statementFor(job.id, decision, {}));
        remember(after);
        return after;
      });
    },

    /**
     * Times out processing jobs the ML server went silent on for `silenceMs`, or that have been
     * processing for longer than `capMs`. Rows another watchdog holds are skipped, and a row it has
     * already failed no longer matches, so no job times out twice. Returns how many did.
     */
    async timeOutStalled(opts: { silenceMs: number; capMs: number }): Promise<number> {
      const changes: Known[] = [];
      const n = await sql.begin<number>(async (tx) => {
        const stalled = await tx.unsafe<Row[]>(
          `select ${SNAPSHOT}, coalesce(dispatched_at, created_at) < now() - $2::int * interval '1 millisecond' as "overCap" from jobs
            where status = 'processing' and (coalesce(last_heard_at, dispatched_at, created_at) < now() - $1::int * interval '1 millisecond'
              or coalesce(dispatched_at, created_at) < now() - $2::int * interval '1 millisecond')
            for update skip locked`,
          [opts.silenceMs, opts.capMs],
          { prepare: true },
        );
        let n = 0;
        for (const { overCap, ...row } of stalled) {
          const job = row as unknown as Known;
          const input: JobInput = overCap
            ? { type: 'timeout', cause: 'cap', seconds: Math.round(opts.capMs / 1000) }
            : { type: 'timeout', cause: 'silence', seconds: Math.round(opts.silenceMs / 1000) };
          const decision = decide(job, input);
          if (decision.outcome !== 'apply') continue;
          const { after } = await run(tx, statementFor(job.id, decision, {}));
          remember(after);
          if (after && decision.visible) changes.push(after);
          n += 1;
        }
        return n;
      });
      await notifier.send(changes);
      return n;
    },

    /**
     * Marks up to `limit` processing jobs the ML server has been silent on for `afterMs`, and that
     * nobody asked the ML server about for as long, as asked now; returns their ids. Rows another
     * process holds are skipped, so each job is asked about at most once per interval across
     * processes (server/jobs/reconcile.ts). Clients see no change: version and updated_at stay.
     */
    async claimForReconcile(opts: { afterMs: number; limit: number }): Promise<string[]> {
      const rows = await sql<{ id: string }[]>`update jobs set last_reconciled_at = now()
        where id in (
          select id from jobs where status = 'processing'
            and coalesce(last_heard_at, dispatched_at, created_at) < now() - ${opts.afterMs}::int * interval '1 millisecond'
            and (last_reconciled_at is null or last_reconciled_at < now() - ${opts.afterMs}::int * interval '1 millisecond')
          order by last_reconciled_at nulls first limit ${opts.limit} for update skip locked)
        returning id`;
      return rows.map((r) => r.id);
    },

    /** Forgets `webhook-id`s older than the signature tolerance allows to replay (docs/callbacks.md). */
    async forgetWebhookIds(olderThanMs: number): Promise<void> {
      await sql`delete from webhook_deliveries where received_at < now() - ${olderThanMs}::int * interval '1 millisecond'`;
    },
  };
}

export type JobStore = ReturnType<typeof createJobStore>;
