/**
 * The job lifecycle as pure decisions (docs/job-lifecycle.md). Every change to a job is a named input;
 * `decide(job, input)` answers with the columns to write and the event to record, or with the reason
 * the input is ignored. Nothing here reads a clock or the database: server/jobs/store.ts applies a
 * decision, and times are written as the database's `now()`.
 */
import type { EventAuth, FailedBy } from '../../drizzle/schema.js';
import type { JobStatus, MlCallback } from '../generated/v1.1/routes.js';
import type { ScannedResult } from './callback-body.js';
import { normalizeResult } from './normalize.js';
import { clampProgress, stageMessage } from './progress.js';
import { ResultUpload } from './result-upload.js';

export const TERMINAL: ReadonlySet<JobStatus> = new Set(['completed', 'failed', 'cancelled']);

/** A time written by the database: `now()`, or `now()` plus `plusMs` milliseconds. */
export interface DbTime {
  plusMs: number;
}
export const NOW: DbTime = { plusMs: 0 };
export const after = (ms: number): DbTime => ({ plusMs: ms });

/** What a decision reads of a job: its state, not its result. */
export interface JobSnapshot {
  status: JobStatus;
  progress: number;
  message: string | null;
  failedBy: FailedBy | null;
  dispatchAttempts: number;
  fileKey: string;
  language: string;
}

/** The columns a decision writes; absent ones stay as they are. */
export interface JobPatch {
  status?: JobStatus;
  progress?: number;
  message?: string | null;
  errorCode?: string | null;
  errorMessage?: string | null;
  failedBy?: FailedBy | null;
  dispatchAttempts?: number;
  dispatchedAt?: DbTime | null;
  nextDispatchAt?: DbTime | null;
  lastHeardAt?: DbTime;
  completedAt?: DbTime;
  result?: unknown;
  rawResult?: unknown;
}

export type EventKind = 'created' | 'dispatched' | 'retry_scheduled' | 'gave_up' | 'refused' | 'callback' | 'cancelled' | 'timeout';

/** One `job_events` row. */
export interface JobEvent {
  kind: EventKind;
  from: JobStatus | null;
  to: JobStatus;
  progress: number;
  auth: EventAuth;
  detail: Record<string, unknown> | null;
}

export type Decision =
  /** Write `patch` and record `event`. `visible: false` (a claim) leaves version and updated_at alone: clients see no change. */
  | { outcome: 'apply'; patch: JobPatch; event: JobEvent | null; visible: boolean }
  /** Leave the row alone; an ignored callback is still recorded as an event. */
  | { outcome: 'ignore'; reason: string; event: JobEvent | null }
  /** The caller asked for something the job's state forbids (cancelling a finished job). */
  | { outcome: 'refuse'; code: 'JOB_NOT_CANCELLABLE'; reason: string };

export type CallbackReport = Pick<MlCallback, 'status' | 'progress' | 'message' | 'error_code' | 'error_message' | 'result'> & {
  /** A result left in the request body (server/jobs/callback-body.ts), in place of `result`. */
  scannedResult?: ScannedResult | undefined;
};

export type JobInput =
  /** The dispatcher leases a due pending job for one attempt. */
  | { type: 'claim'; leaseMs: number }
  /** The ML server accepted the job. */
  | { type: 'dispatched' }
  /**
   * The ML server could not take the job. Retryable failures (network, timeout, 5xx, 429) are retried
   * until `maxAttempts`, then given up; any other answer is the ML server refusing the job.
   */
  | { type: 'dispatch_failed'; retryable: boolean; code: string; message: string; waitMs: number; maxAttempts: number }
  /**
   * An authenticated ML callback: progress (`processing`), `completed` or `failed`; or the same report
   * read by the backend from the ML server's job status (`auth: 'backend'`, `source: 'reconcile'`,
   * server/jobs/reconcile.ts) when the callback went missing.
   */
  | { type: 'callback'; report: CallbackReport; auth: EventAuth; source?: 'reconcile' }
  | { type: 'cancel' }
  /** The watchdog: no word for too long (`silence`), or processing for too long (`cap`). */
  | { type: 'timeout'; cause: 'silence' | 'cap'; seconds: number };

const backendEvent = (job: JobSnapshot, kind: EventKind, to: JobStatus, detail: Record<string, unknown> | null = null): JobEvent => ({
  kind, from: job.status, to, progress: job.progress, auth: 'backend', detail,
});
const apply = (patch: JobPatch, event: JobEvent): Decision => ({ outcome: 'apply', patch, event, visible: true });
const ignore = (reason: string, event: JobEvent | null = null): Decision => ({ outcome: 'ignore', reason, event });

function whyNotPending(job: JobSnapshot): string {
  switch (job.status) {
    case 'cancelled':
      return 'job was cancelled';
    case 'completed':
      return 'job is already completed';
    case 'failed':
      return 'job has already failed';
    default:
      return `job is already ${job.status}`;
  }
}

/** Leases a pending job: the lease outlives one ML request, so a process killed mid-request lets the job go out again. */
export function claim(job: JobSnapshot, input: { leaseMs: number }): Decision {
  if (job.status !== 'pending') return ignore(whyNotPending(job));
  return {
    outcome: 'apply',
    patch: { dispatchedAt: NOW, dispatchAttempts: job.dispatchAttempts + 1, nextDispatchAt: after(input.leaseMs) },
    event: null,
    visible: false,
  };
}

/** Only a pending job moves on a dispatch outcome: a cancel (or a callback) that arrived during the request stands. */
export function dispatched(job: JobSnapshot): Decision {
  if (job.status !== 'pending') return ignore(whyNotPending(job));
  return apply(
    { status: 'processing', message: 'Sent to the ML server', nextDispatchAt: null, dispatchedAt: NOW, lastHeardAt: NOW },
    backendEvent(job, 'dispatched', 'processing', { attempt: job.dispatchAttempts }),
  );
}

export function retryScheduled(job: JobSnapshot, input: { code: string; waitMs: number }): Decision {
  if (job.status !== 'pending') return ignore(whyNotPending(job));
  return apply(
    { dispatchedAt: null, nextDispatchAt: after(input.waitMs), message: 'Waiting for the ML server' },
    backendEvent(job, 'retry_scheduled', 'pending', { attempt: job.dispatchAttempts, code: input.code, retry_in_ms: input.waitMs }),
  );
}

/** Giving up is the backend's verdict, not the ML server's: a late genuine `completed` may still complete the job. */
export function gaveUp(job: JobSnapshot, input: { code: string }): Decision {
  if (job.status !== 'pending') return ignore(whyNotPending(job));
  return apply(
    {
      status: 'failed',
      nextDispatchAt: null,
      errorCode: 'ML_SERVER_UNAVAILABLE',
      errorMessage: `The ML server could not be reached after ${job.dispatchAttempts} attempts (${input.code}).`,
      failedBy: 'backend',
    },
    backendEvent(job, 'gave_up', 'failed', { code: input.code }),
  );
}

export function refusedByMl(job: JobSnapshot, input: { code: string; message: string }): Decision {
  if (job.status !== 'pending') return ignore(whyNotPending(job));
  return apply(
    { status: 'failed', nextDispatchAt: null, errorCode: input.code, errorMessage: input.message, failedBy: 'ml' },
    backendEvent(job, 'refused', 'failed', { code: input.code }),
  );
}

export function dispatchFailed(job: JobSnapshot, input: Extract<JobInput, { type: 'dispatch_failed' }>): Decision {
  if (!input.retryable) return refusedByMl(job, input);
  return job.dispatchAttempts < input.maxAttempts ? retryScheduled(job, input) : gaveUp(job, input);
}

/**
 * Why a callback cannot move the job. Terminal jobs do not move, except that a job the backend failed
 * itself (dispatch gave up, watchdog) still accepts a genuine `completed`.
 */
function callbackBlocked(job: JobSnapshot, reported: MlCallback['status']): string | null {
  if (job.status === 'cancelled') return 'job was cancelled';
  if (job.status === 'completed') return 'job is already completed';
  if (job.status === 'failed' && !(job.failedBy === 'backend' && reported === 'completed')) return 'job has already failed';
  return null;
}

const text = (s: string | null | undefined) => (typeof s === 'string' && s.trim() !== '' ? s : null);

/** Progress never goes back; a missing or unreadable progress keeps the current one. */
export function progressed(job: JobSnapshot, report: CallbackReport): JobPatch {
  const progress = Math.max(job.progress, clampProgress(report.progress) ?? job.progress);
  return { status: 'processing', progress, message: text(report.message) ?? stageMessage(progress), errorCode: null, errorMessage: null, failedBy: null };
}

/** The canonical result is stored with the status, so the first response that says `completed` carries it (docs/results.md). */
export function completed(job: JobSnapshot, report: CallbackReport): JobPatch {
  const fallback = { filename: job.fileKey.split('/').at(-1) ?? null, language: job.language === 'auto' ? null : job.language };
  // A scanned result is written piece by piece by the store (server/jobs/result-upload.ts).
  const upload = report.scannedResult ? new ResultUpload(report.scannedResult, fallback) : undefined;
  return {
    status: 'completed',
    progress: 100,
    message: text(report.message) ?? 'Completed',
    errorCode: null,
    errorMessage: null,
    failedBy: null,
    result: upload ? upload.result : normalizeResult(report.result, fallback),
    rawResult: upload ? upload.raw : (report.result ?? null),
    completedAt: NOW,
  };
}

export function failedByMl(job: JobSnapshot, report: CallbackReport): JobPatch {
  const message = text(report.message);
  return {
    status: 'failed',
    progress: Math.max(job.progress, clampProgress(report.progress) ?? job.progress),
    message: message ?? job.message,
    errorCode: report.error_code ?? 'PROCESSING_ERROR',
    errorMessage: report.error_message ?? message ?? 'The ML server reported a failure.',
    failedBy: 'ml',
  };
}

export function callback(job: JobSnapshot, input: Extract<JobInput, { type: 'callback' }>): Decision {
  const { report, auth } = input;
  const source = input.source ? { source: input.source } : {};
  const blocked = callbackBlocked(job, report.status);
  if (blocked !== null) {
    return ignore(blocked, {
      kind: 'callback', from: job.status, to: job.status, progress: job.progress, auth,
      detail: { ignored: blocked, reported_status: report.status, ...source },
    });
  }
  const moved = report.status === 'completed' ? completed(job, report) : report.status === 'failed' ? failedByMl(job, report) : progressed(job, report);
  return apply(
    { ...moved, lastHeardAt: NOW, nextDispatchAt: null },
    {
      kind: 'callback', from: job.status, to: moved.status!, progress: moved.progress!, auth,
      detail: moved.errorCode || input.source ? { ...(moved.errorCode ? { error_code: moved.errorCode } : {}), ...source } : null,
    },
  );
}

/** Pending and processing jobs can be cancelled; cancelling again changes nothing; finished jobs cannot be. */
export function cancelled(job: JobSnapshot): Decision {
  if (job.status === 'cancelled') return ignore('job is already cancelled');
  if (job.status !== 'pending' && job.status !== 'processing') {
    return { outcome: 'refuse', code: 'JOB_NOT_CANCELLABLE', reason: `The job is already ${job.status} and cannot be cancelled.` };
  }
  return apply({ status: 'cancelled', message: 'Cancelled', nextDispatchAt: null }, backendEvent(job, 'cancelled', 'cancelled'));
}

/** Only a processing job times out; the backend fails it, so a late genuine `completed` is still accepted. */
export function timedOut(job: JobSnapshot, input: { cause: 'silence' | 'cap'; seconds: number }): Decision {
  if (job.status !== 'processing') return ignore(job.status === 'pending' ? 'job is not with the ML server' : whyNotPending(job));
  return apply(
    {
      status: 'failed',
      failedBy: 'backend',
      errorCode: 'PROCESSING_TIMEOUT',
      errorMessage: input.cause === 'cap' ? `Processing took longer than ${input.seconds} seconds.` : `No word from the ML server for ${input.seconds} seconds.`,
    },
    backendEvent(job, 'timeout', 'failed'),
  );
}

/**
 * The one entry point the store uses.
 *
 * @example
 * const decision = decide(row, { type: 'cancel' });
 * if (decision.outcome === 'apply') write(decision.patch, decision.event);
 */
export function decide(job: JobSnapshot, input: JobInput): Decision {
  switch (input.type) {
    case 'claim':
      return claim(job, input);
    case 'dispatched':
      return dispatched(job);
    case 'dispatch_failed':
      return dispatchFailed(job, input);
    case 'callback':
      return callback(job, input);
    case 'cancel':
      return cancelled(job);
    case 'timeout':
      return timedOut(job, input);
  }
}

/** A new job is pending: it is its own dispatch task, due at once. */
export function created(): { patch: { status: 'pending'; nextDispatchAt: DbTime }; event: JobEvent } {
  return {
    patch: { status: 'pending', nextDispatchAt: NOW },
    event: { kind: 'created', from: null, to: 'pending', progress: 0, auth: 'backend', detail: null },
  };
}
