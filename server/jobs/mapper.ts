/** Job rows to API bodies: the one place where the database shape meets the spec's shape. */
import type { JobRow } from '../../drizzle/schema.js';
import type { JobStatusResponse, JobSummary, TranscriptResult } from '../generated/v1.1/routes.js';

/**
 * The status body. `result` is present exactly when the job is completed, so the response that first
 * says `completed` carries it (docs/results.md).
 */
export function toJobStatus(row: JobRow): JobStatusResponse {
  return {
    job_id: row.id,
    status: row.status,
    progress: row.progress,
    message: row.message,
    language: row.language,
    ...(row.status === 'completed' && row.result ? { result: row.result as TranscriptResult } : {}),
    ...(row.status === 'failed' ? { error_code: row.errorCode, error_message: row.errorMessage } : {}),
    created_at: row.createdAt.toISOString(),
    updated_at: row.updatedAt.toISOString(),
  };
}

export function toJobSummary(row: JobRow): JobSummary {
  return {
    job_id: row.id,
    status: row.status,
    progress: row.progress,
    file_key: row.fileKey,
    owner: row.owner,
    error_code: row.errorCode,
    created_at: row.createdAt.toISOString(),
    updated_at: row.updatedAt.toISOString(),
  };
}

/** A weak ETag that changes with every write to the row. */
export const etagOf = (row: Pick<JobRow, 'id' | 'version'>) => `W/"${row.id}-${row.version}"`;
