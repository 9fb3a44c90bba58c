/**
 * Sends pending jobs to the ML server and fails jobs the ML server went silent on.
 *
 * The job row is its own dispatch task (stored by request-process in the same transaction as the
 * job). A claim takes the oldest due `pending` job under a transaction-scoped advisory lock, so the
 * limit of jobs "with the ML server" (`ML_MAX_CONCURRENT_JOBS`) holds across backend processes, and
 * leases it for longer than one ML request can take: a process killed mid-request leaves a lease that
 * expires, and the job is sent again, never twice at the same time (docs/dispatch.md). Every change to
 * a job goes through server/jobs/store.ts.
 */
import type { MlServerClient } from '@ecg/sdk/ml-client';
import type { Config } from '../config.js';
import type { Database } from '../db/client.js';
import { callbackBase } from '../domain/callback-token.js';
import { loggableError } from '../errors.js';
import type { Metrics } from '../http/metrics.js';
import { pruneRateLimitHits } from '../http/rate-limit.js';
import type { Logger } from '../logger.js';
import type { Storage } from '../storage/index.js';
import { claimLoop } from './claim-loop.js';
import { reconcile } from './reconcile.js';
import { createJobStore, type LockedJob } from './store.js';

export interface DispatcherDeps {
  config: Config;
  db: Database;
  storage: Storage;
  ml: MlServerClient;
  logger: Logger;
  metrics?: Metrics | undefined;
}

/** Exponential backoff from `base` (5 s by default, then 10 s, 20 s, ...), capped at 5 minutes (docs/dispatch.md). */
export const backoffMs = (attempt: number, base = 5_000) => Math.min(base * 2 ** Math.max(0, attempt - 1), 300_000);

/** How long a claimed `webhook-id` is remembered: longer than the ±5 minute signature tolerance. */
const WEBHOOK_ID_MEMORY_MS = 10 * 60_000;

/** Runs `task` at most once per `ms` (per dispatcher). */
function every(ms: number) {
  let last = 0;
  return async (task: () => Promise<unknown>): Promise<void> => {
    if (Date.now() - last < ms) return;
    last = Date.now();
    await task();
  };
}

export function createDispatcher(deps: DispatcherDeps) {
  const { config, logger } = deps;
  const jobs = createJobStore(deps.db, undefined, { onNotifyError: (err) => logger.warn('job notification not sent', { error: String(err) }) });
  const leaseMs = config.ml.timeoutMs + 60_000;
  // The question to the ML server is due once per job per interval anyway; looking for such jobs a
  // few times per interval is enough. Rate-limit windows end every minute.
  const reconcileDue = every(Math.min(5_000, Math.max(250, config.ops.reconcileAfterMs / 4)));
  const pruneDue = every(60_000);
  // Stopping aborts the requests in flight (loop.signal); their leases stay, so the jobs are sent again later.
  const loop = claimLoop({
    logger,
    failure: 'dispatcher tick failed',
    async round(launch) {
      await watchdog();
      for (;;) {
        if (loop.stopped) return;
        const row = await jobs.claimNext({ maxBusy: config.ml.maxConcurrentJobs, leaseMs });
        if (!row) break;
        launch(() => send(row), (err) => logger.error('dispatch error', { job_id: row.id, error: loggableError(err) }));
      }
    },
  });

  async function send(row: LockedJob): Promise<void> {
    const expiresIn = Math.max(config.storage.presignExpiresIn, Math.ceil(config.ml.jobTimeoutMs / 1000) * 2 + 3600);
    const videoUrl = await deps.storage.presignDownload(row.fileKey, { expiresIn: Math.min(expiresIn, 604_800) });
    const body =
      config.ml.apiVersion === 'v1.0'
        ? { job_id: row.id, video_url: videoUrl }
        : { job_id: row.id, video_url: videoUrl, fastapi_base_url: callbackBase(config.publicBaseUrl, row.callbackToken), language: row.language || 'auto' };
    const outcome = await deps.ml.processVideo(body, { signal: loop.signal }).catch((err: unknown) => {
      if (loop.stopped) return undefined;
      throw err;
    });
    // Stopping: whatever happened, the lease stays and the job goes out again after it expires.
    if (loop.stopped || !outcome) return;
    const retryable = !outcome.ok && (outcome.kind !== 'http' || outcome.status >= 500 || outcome.status === 429);
    deps.metrics?.dispatchAttempts.inc({ outcome: outcome.ok ? 'accepted' : outcome.kind === 'http' ? (retryable ? 'retryable' : 'refused') : outcome.kind });
    if (outcome.ok) {
      logger.info('job dispatched', { job_id: row.id, attempt: row.dispatchAttempts, ml_status: outcome.status });
      await jobs.transition(row.id, { type: 'dispatched' });
      return;
    }
    const code = outcome.kind === 'http' ? outcome.code : outcome.kind === 'timeout' ? 'TIMEOUT_ERROR' : 'CONNECTION_ERROR';
    logger.warn('dispatch failed', { job_id: row.id, attempt: row.dispatchAttempts, ml_server: config.ml.baseUrl, kind: outcome.kind, code, message: outcome.message, retryable });
    const waitMs = Math.max(backoffMs(row.dispatchAttempts, config.ml.backoffBaseMs), outcome.kind === 'http' ? outcome.retryAfterMs ?? 0 : 0);
    await jobs.transition(row.id, { type: 'dispatch_failed', retryable, code, message: outcome.message, waitMs, maxAttempts: config.ml.maxAttempts });
  }

  /**
   * Fails jobs the ML server went silent on for ML_JOB_TIMEOUT, or that have been processing for longer
   * than ML_MAX_PROCESSING_TIME (30 minutes by default; docs/limits.md), with PROCESSING_TIMEOUT; a
   * job never times out twice, even with watchdogs in several processes. Also forgets `webhook-id`s
   * older than the signature tolerance allows to replay.
   */
  async function watchdog(): Promise<number> {
    // A lost completion is asked for before the silence turns into a timeout.
    await reconcileDue(() => reconcile({ jobs, ml: deps.ml, logger, metrics: deps.metrics, afterMs: config.ops.reconcileAfterMs, signal: loop.signal }));
    const timedOut = await jobs.timeOutStalled({ silenceMs: config.ml.jobTimeoutMs, capMs: config.ml.maxProcessingMs });
    await jobs.forgetWebhookIds(WEBHOOK_ID_MEMORY_MS);
    await pruneDue(() => pruneRateLimitHits(deps.db));
    if (timedOut > 0) logger.warn('jobs timed out', { count: timedOut });
    return timedOut;
  }

  return {
    /** Polls every `intervalMs` (jobs whose backoff ended, slots freed by callbacks, the watchdog). */
    start(intervalMs = 1000) {
      loop.start(intervalMs);
    },
    /** Look now (a job was just created). */
    wake: () => void loop.tick(),
    tick: () => loop.tick(),
    /** Settles once nothing is being claimed or sent, including the rounds that finished sends start. */
    settled: () => loop.settled(),
    watchdog,
    /** Stops claiming, aborts the requests in flight (their jobs keep their lease) and waits for them. */
    stop: () => loop.stop(),
  };
}

export type Dispatcher = ReturnType<typeof createDispatcher>;
