/**
 * The one module that writes jobs (docs/job-lifecycle.md). It locks the row, asks the lifecycle
 * (server/jobs/lifecycle.ts) what an input does, and stores the decision: the row, its `job_events`
 * row and `pg_notify('job_changed', id)` in one transaction, so open event streams on every backend
 * process see each change at once. Handlers, the dispatcher and the watchdog call only this module;
 * test/jobs/single-writer.test.ts keeps it that way.
 *
 * Each transition is today a row lock, a decision in JavaScript and the writes. Every guard of the
 * lifecycle is a check of the row's status (and, for callbacks, `failed_by`), so a transition can
 * become one statement here without moving a rule elsewhere: an `UPDATE ... WHERE status = ...
 * RETURNING` feeding the `job_events` insert and `pg_notify` in a CTE.
 */
import { and, count, desc, eq, sql, type SQL } from 'drizzle-orm';
import { jobEvents, jobs, webhookDeliveries, type JobRow } from '../../drizzle/schema.js';
import type { Database } from '../db/client.js';
import type { JobStatus, MlCallback } from '../generated/v1.1/routes.js';
import { created, decide, type DbTime, type Decision, type JobEvent, type JobInput, type JobPatch, type JobSnapshot } from './lifecycle.js';
import { storableJson } from './text.js';

export const JOB_CHANNEL = 'job_changed';
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
/** "ECG" + 2 (migrations use + 1): the advisory lock that serialises claims across processes (docs/dispatch.md). */
const DISPATCH_LOCK = 0x4543_4702;

type Tx = Parameters<Parameters<Database['transaction']>[0]>[0];

export interface NewJob {
  id: string;
  fileKey: string;
  fileSize: number | null;
  contentType: string | null;
  language: string;
  owner: string | null;
  idempotencyKey: string | null;
  callbackToken: string;
}

/** What a decision needs, and what the dispatcher needs to send a claimed job; never the result. */
const LOCKED = {
  id: jobs.id,
  status: jobs.status,
  progress: jobs.progress,
  message: jobs.message,
  failedBy: jobs.failedBy,
  dispatchAttempts: jobs.dispatchAttempts,
  fileKey: jobs.fileKey,
  language: jobs.language,
  owner: jobs.owner,
  callbackToken: jobs.callbackToken,
};
export type LockedJob = JobSnapshot & Pick<JobRow, 'id' | 'owner' | 'callbackToken'>;

/** The outcome of one input: the decision, and the job as it was before it. */
export type Transition = { job: LockedJob; decision: Decision } | { job: undefined; decision: undefined };

const time = (t: DbTime): SQL => (t.plusMs === 0 ? sql`now()` : sql`now() + ${`${t.plusMs} milliseconds`}::interval`);
const timeOrNull = (t: DbTime | null | undefined): SQL | null | undefined => (t === undefined ? undefined : t === null ? null : time(t));

/** A patch as Drizzle's `set`: times become the database's `now()`; absent (undefined) columns are left out by Drizzle. */
function columns(patch: JobPatch, visible: boolean) {
  const { dispatchedAt, nextDispatchAt, lastHeardAt, completedAt, ...plain } = patch;
  return {
    ...plain,
    dispatchedAt: timeOrNull(dispatchedAt),
    nextDispatchAt: timeOrNull(nextDispatchAt),
    lastHeardAt: timeOrNull(lastHeardAt),
    completedAt: timeOrNull(completedAt),
    // Drizzle bumps version and updated_at on every update that does not set them (drizzle/schema.ts).
    ...(visible ? {} : { version: sql`${jobs.version}`, updatedAt: sql`${jobs.updatedAt}` }),
  };
}

async function record(tx: Tx, jobId: string, event: JobEvent): Promise<void> {
  await tx.insert(jobEvents).values({ jobId, kind: event.kind, fromStatus: event.from, toStatus: event.to, progress: event.progress, auth: event.auth, detail: event.detail });
}

async function notify(tx: Tx, id: string): Promise<void> {
  await tx.execute(sql`select pg_notify(${JOB_CHANNEL}, ${id})`);
}

/** Stores a decision about a row this transaction has locked. */
async function store(tx: Tx, id: string, decision: Decision): Promise<void> {
  if (decision.outcome === 'refuse') return;
  if (decision.outcome === 'apply') await tx.update(jobs).set(columns(decision.patch, decision.visible)).where(eq(jobs.id, id));
  if (decision.event) await record(tx, id, decision.event);
  if (decision.outcome === 'apply' && decision.visible) await notify(tx, id);
}

async function lock(tx: Tx, id: string): Promise<LockedJob | undefined> {
  const [row] = await tx.select(LOCKED).from(jobs).where(eq(jobs.id, id)).for('update');
  return row;
}

async function transitionIn(tx: Tx, id: string, input: JobInput): Promise<Transition> {
  const job = await lock(tx, id);
  if (!job) return { job: undefined, decision: undefined };
  const decision = decide(job, input);
  await store(tx, id, decision);
  return { job, decision };
}

export function createJobStore(db: Database) {
  return {
    /**
     * Stores a pending job and its `created` event. With an idempotency key the same owner already
     * used, returns the earlier job instead.
     */
    async create(input: NewJob): Promise<{ row: JobRow; created: boolean }> {
      const job = storableJson(input);
      const { patch, event } = created();
      return db.transaction(async (tx) => {
        const [row] = await tx
          .insert(jobs)
          .values({ ...job, status: patch.status, nextDispatchAt: time(patch.nextDispatchAt) })
          .onConflictDoNothing()
          .returning();
        if (row) {
          await record(tx, row.id, event);
          await notify(tx, row.id);
          return { row, created: true };
        }
        if (job.idempotencyKey === null) throw new Error('job insert conflicted without an idempotency key');
        const [existing] = await tx
          .select()
          .from(jobs)
          .where(and(sql`coalesce(${jobs.owner}, '') = ${job.owner ?? ''}`, eq(jobs.idempotencyKey, job.idempotencyKey)));
        if (!existing) throw new Error('idempotent job vanished');
        return { row: existing, created: false };
      });
    },

    /** Applies one input to one job under its row lock. */
    transition(id: string, input: JobInput): Promise<Transition> {
      return db.transaction((tx) => transitionIn(tx, id, input));
    },

    /**
     * Applies an authenticated ML callback. `webhookId`, when given, is remembered in the same
     * transaction, so a replayed delivery is ignored exactly once. A `job_id` that is not a UUID is
     * no job of ours (the column refuses anything else).
     */
    async callback(received: MlCallback, auth: Extract<JobInput, { type: 'callback' }>['auth'], webhookId?: string): Promise<Transition> {
      const report = storableJson(received);
      if (!UUID.test(report.job_id)) return { job: undefined, decision: undefined };
      return db.transaction(async (tx) => {
        const job = await lock(tx, report.job_id);
        if (!job) return { job: undefined, decision: undefined };
        if (webhookId !== undefined) {
          const fresh = await tx.insert(webhookDeliveries).values({ webhookId, jobId: job.id }).onConflictDoNothing().returning();
          if (fresh.length === 0) return { job, decision: { outcome: 'ignore', reason: 'duplicate webhook-id', event: null } };
        }
        const decision = decide(job, { type: 'callback', report, auth });
        await store(tx, job.id, decision);
        return { job, decision };
      });
    },

    /**
     * Leases the oldest due pending job, unless `maxBusy` jobs are already with the ML server (or
     * leased to a dispatch in flight). The advisory lock makes the count and the claim one step
     * across all backend processes (docs/dispatch.md).
     */
    async claimNext(opts: { maxBusy: number; leaseMs: number }): Promise<LockedJob | undefined> {
      return db.transaction(async (tx) => {
        await tx.execute(sql`select pg_advisory_xact_lock(${DISPATCH_LOCK})`);
        const [busy] = await tx
          .select({ n: sql<number>`count(*)::int` })
          .from(jobs)
          .where(sql`${jobs.status} = 'processing' or (${jobs.status} = 'pending' and ${jobs.dispatchedAt} is not null and ${jobs.nextDispatchAt} > now())`);
        if ((busy?.n ?? 0) >= opts.maxBusy) return undefined;
        const [due] = await tx
          .select(LOCKED)
          .from(jobs)
          .where(sql`${jobs.status} = 'pending' and ${jobs.nextDispatchAt} <= now()`)
          .orderBy(jobs.createdAt, jobs.id)
          .limit(1)
          .for('update', { skipLocked: true });
        if (!due) return undefined;
        const decision = decide(due, { type: 'claim', leaseMs: opts.leaseMs });
        if (decision.outcome !== 'apply') return undefined;
        await store(tx, due.id, decision);
        return { ...due, dispatchAttempts: decision.patch.dispatchAttempts ?? due.dispatchAttempts };
      });
    },

    /**
     * Times out processing jobs the ML server went silent on for `silenceMs`, or that have been
     * processing for longer than `capMs`. Rows another watchdog holds are skipped, and a row it has
     * already failed no longer matches, so no job times out twice. Returns how many did.
     */
    async timeOutStalled(opts: { silenceMs: number; capMs: number }): Promise<number> {
      const silence = `${opts.silenceMs} milliseconds`;
      const cap = `${opts.capMs} milliseconds`;
      return db.transaction(async (tx) => {
        const stalled = await tx
          .select({ ...LOCKED, overCap: sql<boolean>`coalesce(${jobs.dispatchedAt}, ${jobs.createdAt}) < now() - ${cap}::interval` })
          .from(jobs)
          .where(
            sql`${jobs.status} = 'processing' and (coalesce(${jobs.lastHeardAt}, ${jobs.dispatchedAt}, ${jobs.createdAt}) < now() - ${silence}::interval
              or coalesce(${jobs.dispatchedAt}, ${jobs.createdAt}) < now() - ${cap}::interval)`,
          )
          .for('update', { skipLocked: true });
        let n = 0;
        for (const { overCap, ...job } of stalled) {
          const input: JobInput = overCap
            ? { type: 'timeout', cause: 'cap', seconds: Math.round(opts.capMs / 1000) }
            : { type: 'timeout', cause: 'silence', seconds: Math.round(opts.silenceMs / 1000) };
          const decision = decide(job, input);
          await store(tx, job.id, decision);
          if (decision.outcome === 'apply') n += 1;
        }
        return n;
      });
    },

    /**
     * Marks up to `limit` processing jobs the ML server has been silent on for `afterMs`, and that
     * nobody asked the ML server about for as long, as asked now; returns their ids. Rows another
     * process holds are skipped, so each job is asked about at most once per interval across
     * processes (server/jobs/reconcile.ts). Clients see no change: version and updated_at stay.
     */
    async claimForReconcile(opts: { afterMs: number; limit: number }): Promise<string[]> {
      const after = `${opts.afterMs} milliseconds`;
      const due = sql`select ${jobs.id} from ${jobs} where ${jobs.status} = 'processing'
        and coalesce(${jobs.lastHeardAt}, ${jobs.dispatchedAt}, ${jobs.createdAt}) < now() - ${after}::interval
        and (${jobs.lastReconciledAt} is null or ${jobs.lastReconciledAt} < now() - ${after}::interval)
        order by ${jobs.lastReconciledAt} nulls first limit ${opts.limit} for update skip locked`;
      const rows = await db
        .update(jobs)
        .set({ lastReconciledAt: sql`now()`, version: sql`${jobs.version}`, updatedAt: sql`${jobs.updatedAt}` })
        .where(sql`${jobs.id} in (${due})`)
        .returning({ id: jobs.id });
      return rows.map((r) => r.id);
    },

    /** Forgets `webhook-id`s older than the signature tolerance allows to replay (docs/callbacks.md). */
    async forgetWebhookIds(olderThanMs: number): Promise<void> {
      await db.delete(webhookDeliveries).where(sql`${webhookDeliveries.receivedAt} < now() - ${`${olderThanMs} milliseconds`}::interval`);
    },

    async get(id: string): Promise<JobRow | undefined> {
      const [row] = await db.select().from(jobs).where(eq(jobs.id, id));
      return row;
    },

    /** Just what an ETag check needs, without the (possibly megabytes of) result. */
    async getVersion(id: string): Promise<Pick<JobRow, 'id' | 'owner' | 'version'> | undefined> {
      const [row] = await db.select({ id: jobs.id, owner: jobs.owner, version: jobs.version }).from(jobs).where(eq(jobs.id, id));
      return row;
    },

    async jobIdForCallbackToken(token: string): Promise<string | undefined> {
      const [row] = await db.select({ id: jobs.id }).from(jobs).where(eq(jobs.callbackToken, token));
      return row?.id;
    },

    async list(opts: { status?: JobStatus | undefined; limit: number; offset: number }): Promise<{ rows: JobRow[]; total: number }> {
      const where = opts.status ? eq(jobs.status, opts.status) : undefined;
      const [rows, totals] = await Promise.all([
        db.select().from(jobs).where(where).orderBy(desc(jobs.createdAt), desc(jobs.id)).limit(opts.limit).offset(opts.offset),
        db.select({ n: count() }).from(jobs).where(where),
      ]);
      return { rows, total: totals[0]?.n ?? 0 };
    },
  };
}

export type JobStore = ReturnType<typeof createJobStore>;
