/**
 * Sends pending jobs to the ML server and fails jobs the ML server went silent on.
 *
 * The job row is its own dispatch task (stored by request-process in the same transaction as the
 * job). A claim takes the oldest due `pending` job under a transaction-scoped advisory lock, so the
 * limit of jobs "with the ML server" (`ML_MAX_CONCURRENT_JOBS`) holds across backend processes, and
 * leases it for longer than one ML request can take: a process killed mid-request leaves a lease that
 * expires, and the job is sent again, never twice at the same time.
 */
import { and, eq, sql } from 'drizzle-orm';
import type { MlServerClient } from '@ecg/sdk/ml-client';
import type { PgUpdateSetSource } from 'drizzle-orm/pg-core';
import { jobEvents, jobs, webhookDeliveries, type JobRow } from '../../drizzle/schema.js';
import type { Config } from '../config.js';
import type { Database } from '../db/client.js';
import type { Logger } from '../logger.js';
import type { Storage } from '../storage/index.js';
import { JOB_CHANNEL } from './repository.js';

const DISPATCH_LOCK = 0x4543_4702; // "ECG" + 2 (migrations use + 1): the advisory lock id for claims.

export interface DispatcherDeps {
  config: Config;
  db: Database;
  storage: Storage;
  ml: MlServerClient;
  logger: Logger;
}

/** Exponential backoff from `base` (5 s by default: seed 002 retried after 5 s and 10 s), capped at 5 minutes. */
export const backoffMs = (attempt: number, base = 5_000) => Math.min(base * 2 ** Math.max(0, attempt - 1), 300_000);

/** Callback base for a job: the per-job token makes callbacks from servers that cannot sign authentic. */
export const callbackBase = (publicBaseUrl: string, token: string) => `${publicBaseUrl}/api/ml-callback/${token}`;

export function createDispatcher(deps: DispatcherDeps) {
  const { config, db, logger } = deps;
  const leaseMs = config.ml.timeoutMs + 60_000;
  let timer: NodeJS.Timeout | undefined;
  let running = false;
  let again = false;
  let stopped = false;
  const inFlight = new Set<Promise<void>>();
  /** Aborts requests in flight at shutdown; their leases stay, so the jobs are sent again later. */
  const shutdown = new AbortController();

  async function claim(): Promise<JobRow | undefined> {
    return db.transaction(async (tx) => {
      await tx.execute(sql`select pg_advisory_xact_lock(${DISPATCH_LOCK})`);
      const [busy] = await tx
        .select({ n: sql<number>`count(*)::int` })
        .from(jobs)
        .where(sql`${jobs.status} = 'processing' or (${jobs.status} = 'pending' and ${jobs.dispatchedAt} is not null and ${jobs.nextDispatchAt} > now())`);
      if ((busy?.n ?? 0) >= config.ml.maxConcurrentJobs) return undefined;
      const [due] = await tx
        .select({ id: jobs.id })
        .from(jobs)
        .where(sql`${jobs.status} = 'pending' and ${jobs.nextDispatchAt} <= now()`)
        .orderBy(jobs.createdAt, jobs.id)
        .limit(1)
        .for('update', { skipLocked: true });
      if (!due) return undefined;
      const [row] = await tx
        .update(jobs)
        .set({
          dispatchedAt: sql`now()`,
          dispatchAttempts: sql`${jobs.dispatchAttempts} + 1`,
          nextDispatchAt: sql`now() + ${`${leaseMs} milliseconds`}::interval`,
          version: sql`${jobs.version}`,
        })
        .where(eq(jobs.id, due.id))
        .returning();
      return row;
    });
  }

  async function finish(row: JobRow, patch: PgUpdateSetSource<typeof jobs>, event: { kind: string; to: JobRow['status']; detail?: unknown }) {
    await db.transaction(async (tx) => {
      const updated = await tx
        .update(jobs)
        .set(patch)
        .where(and(eq(jobs.id, row.id), eq(jobs.status, 'pending')))
        .returning({ id: jobs.id });
      // Cancelled while we were sending: the cancellation stands.
      if (updated.length === 0) return;
      await tx.insert(jobEvents).values({
        jobId: row.id, kind: event.kind, fromStatus: 'pending', toStatus: event.to, progress: row.progress, auth: 'backend',
        detail: event.detail ?? null,
      });
      await tx.execute(sql`select pg_notify(${JOB_CHANNEL}, ${row.id})`);
    });
  }

  async function send(row: JobRow): Promise<void> {
    const expiresIn = Math.max(config.storage.presignExpiresIn, Math.ceil(config.ml.jobTimeoutMs / 1000) * 2 + 3600);
    const videoUrl = await deps.storage.presignDownload(row.fileKey, { expiresIn: Math.min(expiresIn, 604_800) });
    const body =
      config.ml.apiVersion === 'v1.0'
        ? { job_id: row.id, video_url: videoUrl }
        : { job_id: row.id, video_url: videoUrl, fastapi_base_url: callbackBase(config.publicBaseUrl, row.callbackToken), language: row.language || 'auto' };
    const outcome = await deps.ml.processVideo(body, { signal: shutdown.signal }).catch((err: unknown) => {
      if (stopped) return undefined;
      throw err;
    });
    // Stopping: whatever happened, the lease stays and the job goes out again after it expires.
    if (stopped || !outcome) return;
    if (outcome.ok) {
      logger.info('job dispatched', { job_id: row.id, attempt: row.dispatchAttempts, ml_status: outcome.status });
      await finish(
        row,
        { status: 'processing', message: 'Sent to the ML server', nextDispatchAt: null, dispatchedAt: sql`now()`, lastHeardAt: sql`now()` },
        { kind: 'dispatched', to: 'processing', detail: { attempt: row.dispatchAttempts } },
      );
      return;
    }
    const retryable = outcome.kind !== 'http' || outcome.status >= 500 || outcome.status === 429;
    const code = outcome.kind === 'http' ? outcome.code : outcome.kind === 'timeout' ? 'TIMEOUT_ERROR' : 'CONNECTION_ERROR';
    logger.warn('dispatch failed', { job_id: row.id, attempt: row.dispatchAttempts, kind: outcome.kind, code, retryable });
    if (retryable && row.dispatchAttempts < config.ml.maxAttempts) {
      const wait = Math.max(backoffMs(row.dispatchAttempts, config.ml.backoffBaseMs), outcome.kind === 'http' ? outcome.retryAfterMs ?? 0 : 0);
      await db
        .update(jobs)
        .set({ dispatchedAt: null, nextDispatchAt: sql`now() + ${`${wait} milliseconds`}::interval`, message: 'Waiting for the ML server' })
        .where(and(eq(jobs.id, row.id), eq(jobs.status, 'pending')));
      return;
    }
    await finish(
      row,
      {
        status: 'failed',
        nextDispatchAt: null,
        errorCode: retryable ? 'ML_SERVER_UNAVAILABLE' : code,
        errorMessage: retryable ? `The ML server could not be reached after ${row.dispatchAttempts} attempts (${code}).` : outcome.message,
        // A refusal is the ML server's verdict; giving up is ours, and a late result may still complete the job.
        failedBy: retryable ? 'backend' : 'ml',
      },
      { kind: 'status', to: 'failed', detail: { code } },
    );
  }

  /**
   * Fails jobs the ML server went silent on for ML_JOB_TIMEOUT, or that have been processing for longer
   * than ML_MAX_PROCESSING_TIME (seed 001: at most 30 minutes), with PROCESSING_TIMEOUT. Each is one
   * UPDATE, so concurrent watchdogs in several processes never fail a job twice. Also forgets
   * `webhook-id`s older than the signature tolerance allows to replay.
   */
  async function watchdog(): Promise<number> {
    const silence = `${config.ml.jobTimeoutMs} milliseconds`;
    const cap = `${config.ml.maxProcessingMs} milliseconds`;
    const timedOut = await db.transaction(async (tx) => {
      const rows = await tx
        .update(jobs)
        .set({
          status: 'failed',
          failedBy: 'backend',
          errorCode: 'PROCESSING_TIMEOUT',
          errorMessage: sql`case when coalesce(${jobs.dispatchedAt}, ${jobs.createdAt}) < now() - ${cap}::interval
            then ${`Processing took longer than ${Math.round(config.ml.maxProcessingMs / 1000)} seconds.`}
            else ${`No word from the ML server for ${Math.round(config.ml.jobTimeoutMs / 1000)} seconds.`} end`,
        })
        .where(
          sql`${jobs.status} = 'processing' and (coalesce(${jobs.lastHeardAt}, ${jobs.dispatchedAt}, ${jobs.createdAt}) < now() - ${silence}::interval
            or coalesce(${jobs.dispatchedAt}, ${jobs.createdAt}) < now() - ${cap}::interval)`,
        )
        .returning({ id: jobs.id, progress: jobs.progress });
      for (const r of rows) {
        await tx.insert(jobEvents).values({ jobId: r.id, kind: 'timeout', fromStatus: 'processing', toStatus: 'failed', progress: r.progress, auth: 'backend' });
        await tx.execute(sql`select pg_notify(${JOB_CHANNEL}, ${r.id})`);
      }
      return rows.length;
    });
    await db.delete(webhookDeliveries).where(sql`${webhookDeliveries.receivedAt} < now() - interval '10 minutes'`);
    if (timedOut > 0) logger.warn('jobs timed out', { count: timedOut });
    return timedOut;
  }

  async function tick(): Promise<void> {
    if (stopped) return;
    if (running) {
      again = true;
      return;
    }
    running = true;
    try {
      do {
        again = false;
        await watchdog();
        for (;;) {
          if (stopped) return;
          const row = await claim();
          if (!row) break;
          const p = send(row)
            .catch((err) => logger.error('dispatch error', { job_id: row.id, error: err instanceof Error ? err.message : String(err) }))
            .finally(() => {
              inFlight.delete(p);
              // A slot freed up, or the job was rescheduled: look again.
              void tick();
            });
          inFlight.add(p);
        }
      } while (again && !stopped);
    } catch (err) {
      logger.error('dispatcher tick failed', { error: err instanceof Error ? err.message : String(err) });
    } finally {
      running = false;
    }
  }

  return {
    /** Polls every `intervalMs` (jobs whose backoff ended, slots freed by callbacks, the watchdog). */
    start(intervalMs = 1000) {
      stopped = false;
      timer = setInterval(() => void tick(), intervalMs);
      timer.unref();
      void tick();
    },
    /** Look now (a job was just created). */
    wake: () => void tick(),
    tick,
    watchdog,
    /** Stops claiming, aborts the requests in flight (their jobs keep their lease) and waits for them. */
    async stop() {
      stopped = true;
      if (timer) clearInterval(timer);
      shutdown.abort();
      await Promise.allSettled([...inFlight]);
    },
  };
}

export type Dispatcher = ReturnType<typeof createDispatcher>;
