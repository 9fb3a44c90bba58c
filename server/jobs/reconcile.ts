/**
 * Recovering a lost completion (docs/dispatch.md). The ML server sends each callback once and does
 * not retry, so a completion that arrives while the backend is down is lost. When a processing job
 * has been silent for `ML_RECONCILE_AFTER`, the backend asks the ML server about it
 * (`getMlJobStatus`, openapi/v1.1/ml-server.yaml): a `completed` answer with its result completes the
 * job exactly as the callback would have, a `failed` one fails it; both go through the store's
 * callback transition and are recorded with `auth: backend`, `detail.source: reconcile`. Anything
 * else (still processing, 404/405, no answer) changes nothing, and the watchdog still applies.
 */
import type { JobStatusOutcome, MlJobStatus } from '@ecg/sdk/ml-client';
import type { Metrics } from '../http/metrics.js';
import type { Logger } from '../logger.js';
import type { CallbackReport } from './lifecycle.js';
import type { JobStore } from './store.js';
import { storableJson } from './text.js';

export interface ReconcileDeps {
  jobs: JobStore;
  ml: { jobStatus(jobId: string, options?: { signal?: AbortSignal }): Promise<JobStatusOutcome> };
  logger: Logger;
  metrics?: Metrics | undefined;
  /** `ML_RECONCILE_AFTER` in ms; 0 disables. */
  afterMs: number;
  signal?: AbortSignal;
}

/** Jobs asked about per round; the rest wait for the next watchdog tick. */
const BATCH = 20;

/** The ML server's answer as the callback it stands for, or null when it changes nothing. */
export function reportFrom(answer: MlJobStatus): CallbackReport | null {
  if (answer.status === 'completed' && answer.result) {
    return { status: 'completed', progress: 100, message: answer.message ?? null, result: answer.result, error_code: null, error_message: null };
  }
  if (answer.status === 'failed') {
    return {
      status: 'failed',
      progress: answer.progress ?? null,
      message: answer.message ?? null,
      result: null,
      error_code: answer.error_code ?? 'PROCESSING_ERROR',
      error_message: answer.error_message ?? 'The ML server reported the job as failed.',
    };
  }
  return null;
}

async function reconcileOne(deps: ReconcileDeps, id: string): Promise<string> {
  const outcome = await deps.ml.jobStatus(id, deps.signal ? { signal: deps.signal } : {});
  if (!outcome.ok) {
    if (outcome.kind === 'http' && (outcome.status === 404 || outcome.status === 405)) return 'unsupported';
    deps.logger.debug('job status not available from the ML server', { job_id: id, kind: outcome.kind, message: outcome.message });
    return 'unanswered';
  }
  const report = reportFrom(outcome.body);
  if (!report) return 'unchanged';
  const { decision } = await deps.jobs.transition(id, { type: 'callback', report: storableJson(report), auth: 'backend', source: 'reconcile' });
  if (decision?.outcome !== 'apply') return 'unchanged';
  deps.logger.warn('job recovered from the ML server: its callback never arrived', { job_id: id, status: report.status });
  return report.status;
}

/** One round: claims the silent jobs due for a question and asks about each. Returns how many changed. */
export async function reconcile(deps: ReconcileDeps): Promise<number> {
  if (deps.afterMs <= 0) return 0;
  const ids = await deps.jobs.claimForReconcile({ afterMs: deps.afterMs, limit: BATCH });
  let changed = 0;
  for (const id of ids) {
    if (deps.signal?.aborted) break;
    const outcome = await reconcileOne(deps, id).catch((err: unknown) => {
      deps.logger.error('reconcile failed', { job_id: id, error: err instanceof Error ? err.message : String(err) });
      return 'error';
    });
    deps.metrics?.reconciliations.inc({ outcome });
    if (outcome === 'completed' || outcome === 'failed') changed += 1;
  }
  return changed;
}
