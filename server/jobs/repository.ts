/**
 * Jobs in Postgres. Every change goes through a row lock (`SELECT ... FOR UPDATE`) or a conditional
 * update, writes a `job_events` row in the same transaction, and announces itself with
 * `pg_notify('job_changed', id)` so event streams on any backend process see it.
 */
import { and, count, desc, eq, sql } from 'drizzle-orm';
import { jobEvents, jobs, webhookDeliveries, type EventAuth, type JobRow } from '../../drizzle/schema.js';
import type { Database } from '../db/client.js';
import { ApiError } from '../errors.js';
import type { JobStatus, MlCallback } from '../generated/v1.1/routes.js';
import { normalizeResult } from './normalize.js';
import { decideCallback } from './state.js';
import { storableJson } from './text.js';

export const JOB_CHANNEL = 'job_changed';
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

type Tx = Parameters<Parameters<Database['transaction']>[0]>[0];

async function notify(tx: Tx, id: string): Promise<void> {
  await tx.execute(sql`select pg_notify(${JOB_CHANNEL}, ${id})`);
}

export interface NewJob {
  id: string;
  fileKey: string;
  fileSize: number | null;
  contentType: string | null;
  language: string;
  owner: string | null;
  idempotencyKey: string | null;
  callbackToken: string;
  videoUrl: string | null;
}

export type CallbackAck = { status: 'received' | 'ignored'; job_id: string; reason?: string };

export function createJobRepository(db: Database) {
  async function lockJob(tx: Tx, id: string): Promise<JobRow | undefined> {
    const [row] = await tx.select().from(jobs).where(eq(jobs.id, id)).for('update');
    return row;
  }

  return {
    /**
     * Stores a job (status `pending`: it is its own dispatch task) and its `created` event.
     * With an idempotency key already used by the same owner, returns the earlier job instead.
     */
    async create(input: NewJob): Promise<{ row: JobRow; created: boolean }> {
      const job = storableJson(input);
      return db.transaction(async (tx) => {
        const inserted = await tx
          .insert(jobs)
          .values({ ...job, status: 'pending', nextDispatchAt: sql`now()` })
          .onConflictDoNothing()
          .returning();
        const row = inserted[0];
        if (row) {
          await tx.insert(jobEvents).values({ jobId: row.id, kind: 'created', toStatus: 'pending', progress: 0, auth: 'backend' });
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

    /** Cancels a pending or processing job; a cancelled job stays cancelled; others are a conflict. */
    async cancel(id: string, owner: string | null | undefined): Promise<JobRow> {
      return db.transaction(async (tx) => {
        const row = await lockJob(tx, id);
        if (!row || (owner !== undefined && row.owner !== owner)) throw new ApiError('JOB_NOT_FOUND', `No job with id ${id}.`);
        if (row.status === 'cancelled') return row;
        if (row.status !== 'pending' && row.status !== 'processing') {
          throw new ApiError('JOB_NOT_CANCELLABLE', `The job is already ${row.status} and cannot be cancelled.`);
        }
        const [updated] = await tx
          .update(jobs)
          .set({ status: 'cancelled', message: 'Cancelled', nextDispatchAt: null })
          .where(eq(jobs.id, id))
          .returning();
        await tx.insert(jobEvents).values({ jobId: id, kind: 'cancelled', fromStatus: row.status, toStatus: 'cancelled', progress: row.progress, auth: 'backend' });
        await notify(tx, id);
        return updated!;
      });
    },

    /**
     * Applies an authenticated ML callback under the row lock. `webhookId`, when given, is recorded in
     * the same transaction, so a replayed delivery is ignored exactly once.
     */
    async applyCallback(received: MlCallback, auth: EventAuth, webhookId?: string): Promise<CallbackAck> {
      const cb = storableJson(received);
      // job_id is an open string in the callback schema; ours are UUIDs, and the uuid column refuses anything else.
      if (!UUID.test(cb.job_id)) throw new ApiError('JOB_NOT_FOUND', `No job with id ${cb.job_id}.`);
      return db.transaction(async (tx) => {
        const row = await lockJob(tx, cb.job_id);
        if (!row) throw new ApiError('JOB_NOT_FOUND', `No job with id ${cb.job_id}.`);
        if (webhookId !== undefined) {
          const fresh = await tx.insert(webhookDeliveries).values({ webhookId, jobId: row.id }).onConflictDoNothing().returning();
          if (fresh.length === 0) return { status: 'ignored', job_id: row.id, reason: 'duplicate webhook-id' };
        }
        const decision = decideCallback(row, cb);
        const now = sql`now()`;
        if (!decision.apply) {
          await tx.insert(jobEvents).values({
            jobId: row.id, kind: 'callback', fromStatus: row.status, toStatus: row.status, progress: row.progress, auth,
            detail: { ignored: decision.reason, reported_status: cb.status },
          });
          return { status: 'ignored', job_id: row.id, reason: decision.reason };
        }
        await tx
          .update(jobs)
          .set({
            status: decision.status,
            progress: decision.progress,
            message: decision.message,
            errorCode: decision.errorCode,
            errorMessage: decision.errorMessage,
            failedBy: decision.failedBy,
            lastHeardAt: now,
            nextDispatchAt: null,
            ...(decision.completed
              ? {
                  result: normalizeResult(cb.result, { filename: row.fileKey.split('/').at(-1) ?? null, language: row.language === 'auto' ? null : row.language }),
                  rawResult: cb.result ?? null,
                  completedAt: now,
                }
              : {}),
          })
          .where(eq(jobs.id, row.id));
        await tx.insert(jobEvents).values({
          jobId: row.id, kind: 'callback', fromStatus: row.status, toStatus: decision.status, progress: decision.progress, auth,
          detail: decision.errorCode ? { error_code: decision.errorCode } : null,
        });
        await notify(tx, row.id);
        return { status: 'received', job_id: row.id };
      });
    },
  };
}

export type JobRepository = ReturnType<typeof createJobRepository>;
