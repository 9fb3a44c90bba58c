/**
 * The public types of the frontend entry that mirror the backend contract (v1.1), plus the shapes
 * of the options every backend call shares.
 * @module
 */
import type { Client } from 'openapi-fetch';
import type { components, paths } from './generated/v1.1/backend.js';

type Schemas = components['schemas'];

/**
 * The canonical transcript the backend returns in a completed job's `result`.
 *
 * @example
 * ```ts
 * import type { TranscriptResult } from '@ecg/sdk';
 * const lines = (r: TranscriptResult) => r.segments.map((s) => `${s.speaker.speaker_id ?? '?'}: ${s.text}`);
 * ```
 */
export type TranscriptResult = Schemas['TranscriptResult'];

/**
 * What `GET /api/upload-video/status/{job_id}` answers (and every Server-Sent Event carries).
 *
 * @example
 * ```ts
 * import type { JobStatusResponse } from '@ecg/sdk';
 * const label = (s: JobStatusResponse) => `${s.status} ${s.progress}% ${s.message ?? ''}`;
 * ```
 */
export type JobStatusResponse = Schemas['JobStatusResponse'];

/**
 * A job's state: `pending`, `processing`, or one of the terminal `completed`, `failed`, `cancelled`.
 *
 * @example
 * ```ts
 * import type { JobStatus } from '@ecg/sdk';
 * const done = (s: JobStatus) => s === 'completed' || s === 'failed' || s === 'cancelled';
 * ```
 */
export type JobStatus = Schemas['JobStatus'];

/**
 * The states a job does not leave.
 *
 * @example
 * ```ts
 * import type { TerminalJobState } from '@ecg/sdk';
 * const icons: Record<TerminalJobState, string> = { completed: '✔', failed: '✖', cancelled: '⏹' };
 * ```
 */
export type TerminalJobState = Extract<JobStatus, 'completed' | 'failed' | 'cancelled'>;

/**
 * A job status whose `status` is terminal: what {@link BackendClient.waitForJob} resolves with.
 *
 * @example
 * ```ts
 * import type { TerminalJobStatus } from '@ecg/sdk';
 * const text = (s: TerminalJobStatus) => (s.status === 'completed' ? s.result?.text ?? '' : s.error_message);
 * ```
 */
export type TerminalJobStatus = JobStatusResponse & { status: TerminalJobState };

/**
 * What `POST /api/upload-video/request-process` answers.
 *
 * @example
 * ```ts
 * import type { RequestProcessResponse } from '@ecg/sdk';
 * const eta = (r: RequestProcessResponse) => `job ${r.job_id}, about ${r.estimated_time} s`;
 * ```
 */
export type RequestProcessResponse = Schemas['RequestProcessResponse'];

/**
 * What `POST /api/upload-video/cancel/{job_id}` answers.
 *
 * @example
 * ```ts
 * import type { CancelJobResponse } from '@ecg/sdk';
 * const said = (r: CancelJobResponse) => r.message;
 * ```
 */
export type CancelJobResponse = Schemas['CancelJobResponse'];

/**
 * One job in a list: its state without its result (read that with `getStatus`).
 *
 * @example
 * ```ts
 * import type { JobSummary } from '@ecg/sdk';
 * const line = (j: JobSummary) => `${j.job_id} ${j.status} ${j.progress}% ${j.created_at}`;
 * ```
 */
export type JobSummary = Schemas['JobSummary'];

/**
 * What `GET /api/upload-video/jobs/mine` answers: a page of the caller's own jobs, newest first.
 *
 * @example
 * ```ts
 * import type { MyJobsPage } from '@ecg/sdk';
 * const more = (p: MyJobsPage) => p.next_cursor !== null;
 * ```
 */
export type MyJobsPage = Schemas['MyJobsPage'];

/**
 * The filters and page of {@link BackendClient.listMyJobs}; every field is optional.
 *
 * @example
 * ```ts
 * import type { ListMyJobsOptions } from '@ecg/sdk';
 * const lastWeek: ListMyJobsOptions = { createdAfter: new Date(Date.now() - 7 * 86_400_000), status: 'completed' };
 * ```
 */
export interface ListMyJobsOptions {
  status?: JobStatus;
  /** Jobs created at or after this time. */
  createdAfter?: Date | string;
  /** Jobs created strictly before this time. */
  createdBefore?: Date | string;
  /** Page size, 1 to 100 (default 20). */
  limit?: number;
  /** The `next_cursor` of the page before. */
  cursor?: string;
  signal?: AbortSignal;
}

/**
 * What `POST /api/upload-video/generate-url` answers.
 *
 * @example
 * ```ts
 * import type { GenerateUploadUrlResponse } from '@ecg/sdk';
 * const where = (r: GenerateUploadUrlResponse) => [r.method, r.upload_url, r.headers['Content-Type']];
 * ```
 */
export type GenerateUploadUrlResponse = Schemas['GenerateUploadUrlResponse'];

/**
 * The raw, fully typed openapi-fetch client of the backend (v1.1 contract).
 *
 * @example
 * ```ts
 * import { createBackendClient, type BackendApi } from '@ecg/sdk';
 * const api: BackendApi = createBackendClient({ baseUrl: 'https://ecg.example.com' }).api;
 * const { data } = await api.GET('/api/upload-video/ml-server/health');
 * ```
 */
export type BackendApi = Client<paths>;

/**
 * The fetch the SDK calls: it is always given a `Request`. `globalThis.fetch` fits.
 *
 * @example
 * ```ts
 * import type { FetchLike } from '@ecg/sdk';
 * const logged: FetchLike = async (req) => { console.log(req.method, req.url); return fetch(req); };
 * ```
 */
export type FetchLike = (input: Request) => Promise<Response>;

/**
 * A bearer token, or a function returning the current one (called before every backend request;
 * return `null`/`undefined` for anonymous requests).
 *
 * @example
 * ```ts
 * import type { TokenSource } from '@ecg/sdk';
 * const token: TokenSource = () => localStorage.getItem('access_token');
 * ```
 */
export type TokenSource = string | (() => string | null | undefined | Promise<string | null | undefined>);
