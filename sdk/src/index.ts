/**
 * `@ecg/sdk`: the frontend client of the ECG backend (upload a video, start a job, follow it).
 *
 * Browser-safe: this entry imports no Node built-in. Node-only inputs (a file path) are opened
 * through a dynamic import that only runs in Node and that bundlers leave alone.
 *
 * @example
 * ```ts
 * import { createBackendClient, EcgApiError } from '@ecg/sdk';
 *
 * const ecg = createBackendClient({ baseUrl: 'https://ecg.example.com', token: () => session.token });
 * const final = await ecg.processVideo(file, { onProgress: (s) => console.log(s.status, s.progress) });
 * if (final.status === 'completed') console.log(final.result?.text);
 * ```
 * @module
 */
export type { BackendClient, BackendClientOptions, ProcessVideoOptions, RequestProcessInput } from './backend-client.js';
export { createBackendClient } from './backend-client.js';
export type { ApiErrorBody, ApiErrorCode, SdkErrorCode } from './errors.js';
export { EcgApiError } from './errors.js';
export type { RetryInfo, RetryOptions } from './transport.js';
export type {
  BackendApi,
  CancelJobResponse,
  FetchLike,
  GenerateUploadUrlResponse,
  JobStatus,
  JobStatusResponse,
  JobSummary,
  ListMyJobsOptions,
  MyJobsPage,
  RequestProcessResponse,
  TerminalJobState,
  TerminalJobStatus,
  TokenSource,
  TranscriptResult,
} from './types.js';
export type { UploadOptions, UploadProgress } from './upload.js';
export type { UploadSource } from './upload-source.js';
export type { WaitForJobOptions } from './wait.js';
