/**
 * The job state machine (CONTRACT.md, "Job state machine"), as pure functions: the repository
 * locks the row, asks `decideCallback` what to do, and writes the answer.
 */
import type { JobStatus, MlCallback } from '../generated/v1.1/routes.js';

export const TERMINAL: ReadonlySet<JobStatus> = new Set(['completed', 'failed', 'cancelled']);

/** Progress bands of seed 001, used when the ML server sends no message. */
const BANDS: ReadonlyArray<readonly [number, string]> = [
  [10, 'Initialising'],
  [25, 'Extracting audio'],
  [40, 'Detecting speech'],
  [60, 'Identifying speakers'],
  [75, 'Transcribing'],
  [90, 'Analysing emotion and confidence'],
  [100, 'Finalising'],
];

export function stageMessage(progress: number): string {
  for (const [upTo, label] of BANDS) if (progress < upTo) return label;
  return 'Finalising';
}

export function clampProgress(p: number | null | undefined): number | null {
  if (p === null || p === undefined || !Number.isFinite(p)) return null;
  return Math.min(100, Math.max(0, Math.round(p)));
}

export interface JobState {
  status: JobStatus;
  progress: number;
  message: string | null;
  failedBy: 'backend' | 'ml' | null;
}

export type CallbackDecision =
  | { apply: false; reason: string }
  | {
      apply: true;
      status: JobStatus;
      progress: number;
      message: string | null;
      errorCode: string | null;
      errorMessage: string | null;
      failedBy: 'backend' | 'ml' | null;
      completed: boolean;
    };

/**
 * What a callback does to a job. Terminal jobs do not move, except that a job the backend failed
 * itself (dispatch gave up, watchdog) still accepts a genuine `completed`.
 */
export function decideCallback(job: JobState, cb: Pick<MlCallback, 'status' | 'progress' | 'message' | 'error_code' | 'error_message'>): CallbackDecision {
  if (job.status === 'cancelled') return { apply: false, reason: 'job was cancelled' };
  if (job.status === 'completed') return { apply: false, reason: 'job is already completed' };
  if (job.status === 'failed' && !(job.failedBy === 'backend' && cb.status === 'completed')) {
    return { apply: false, reason: 'job has already failed' };
  }
  const reported = clampProgress(cb.progress);
  const progress = Math.max(job.progress, reported ?? job.progress);
  const message = typeof cb.message === 'string' && cb.message.trim() !== '' ? cb.message : null;
  switch (cb.status) {
    case 'processing':
      return {
        apply: true,
        status: 'processing',
        progress,
        message: message ?? stageMessage(progress),
        errorCode: null,
        errorMessage: null,
        failedBy: null,
        completed: false,
      };
    case 'completed':
      return { apply: true, status: 'completed', progress: 100, message: message ?? 'Completed', errorCode: null, errorMessage: null, failedBy: null, completed: true };
    case 'failed':
      return {
        apply: true,
        status: 'failed',
        progress,
        message: message ?? job.message,
        errorCode: cb.error_code ?? 'PROCESSING_ERROR',
        errorMessage: cb.error_message ?? message ?? 'The ML server reported a failure.',
        failedBy: 'ml',
        completed: false,
      };
  }
}
