/** Job rows to API bodies: the one place where the database shape meets the spec's shape. */
import type { JobStatusResponse, JobSummary } from '../generated/v1.1/routes.js';
import { currentStage, estimatedSecondsLeft } from './progress.js';
import type { JobListRow, JobView } from './reads.js';

/** The status body without its result; typed, so a field the spec does not know fails the typecheck. */
function statusFields(job: JobView): Omit<JobStatusResponse, 'result'> {
  return {
    job_id: job.id,
    status: job.status,
    progress: job.progress,
    message: job.message,
    language: job.language,
    ...(job.status === 'failed' ? { error_code: job.errorCode, error_message: job.errorMessage } : {}),
    // Version 1.1, live jobs only: never sent once the job is terminal.
    ...(job.status === 'pending' || job.status === 'processing'
      ? { current_stage: currentStage(job.status, job.progress, job.message), estimated_time_remaining: estimatedSecondsLeft(job.progress, job.runSeconds) }
      : {}),
    created_at: job.createdAt,
    updated_at: job.updatedAt,
  };
}

/**
 * The status body as JSON text. `result` is present exactly when the job is completed, so the
 * response that first says `completed` carries it (docs/results.md); it is the stored canonical JSON,
 * spliced in as it came from the database rather than parsed and serialised again.
 */
export function statusJson(job: JobView): string {
  const fields = JSON.stringify(statusFields(job));
  return job.status === 'completed' && job.result !== null ? `${fields.slice(0, -1)},"result":${job.result}}` : fields;
}

export function toJobSummary(row: JobListRow): JobSummary {
  return {
    job_id: row.id,
    status: row.status,
    progress: row.progress,
    file_key: row.fileKey,
    owner: row.owner,
    error_code: row.errorCode,
    created_at: row.createdAt,
    updated_at: row.updatedAt,
  };
}

/** A weak ETag that changes with every write to the row. */
export const etagOf = (row: { id: string; version: number }) => `W/"${row.id}-${row.version}"`;
