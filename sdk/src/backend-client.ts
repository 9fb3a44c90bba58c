/**
 * The frontend client: the typed openapi-fetch client of the backend, plus the upload, job and
 * following helpers built on it.
 * @module
 */
import createClient from 'openapi-fetch';
import { call, expectJson } from './call.js';
import { EcgApiError } from './errors.js';
import type { paths } from './generated/v1.1/backend.js';
import { randomId, trimBase } from './internal.js';
import { describedFetch, retryingFetch, type RetryOptions } from './transport.js';
import type {
  BackendApi,
  CancelJobResponse,
  FetchLike,
  JobStatusResponse,
  ListMyJobsOptions,
  MyJobsPage,
  RequestProcessResponse,
  TerminalJobStatus,
  TokenSource,
} from './types.js';
import { putToStorage, type UploadOptions, type UploadProgress,uploadTarget } from './upload.js';
import { prepare, type UploadSource } from './upload-source.js';
import { waitForJob, type WaitForJobOptions } from './wait.js';

/**
 * Options of {@link createBackendClient}.
 *
 * @example
 * ```ts
 * import type { BackendClientOptions } from '@ecg/sdk';
 * const options: BackendClientOptions = { baseUrl: 'https://ecg.example.com', token: 'eyJ...' };
 * ```
 */
export interface BackendClientOptions {
  /** The backend's origin (and path prefix, if any), e.g. `https://ecg.example.com`. */
  baseUrl: string;
  /** Sent as `Authorization: Bearer …` to the backend, never to the storage upload URL. */
  token?: TokenSource;
  /**
   * A fetch to use instead of `globalThis.fetch` (for the backend and the storage PUT). When given,
   * uploads use it even in browsers (no `XMLHttpRequest`, so progress is reported at the end).
   */
  fetch?: FetchLike;
  /**
   * Retrying of the calls that are safe to repeat, or `false` for none. Retried (on network
   * errors, 429 and 5xx): `getStatus`, `cancel`, `requestProcess` (it always sends an
   * `Idempotency-Key`, so a repeat returns the same job), and through `api` every GET, a cancel,
   * and any request carrying an `Idempotency-Key`. Never retried here: the `generate-url` call and
   * the storage PUT of `uploadVideo`, and event streams; `waitForJob` has retry rules of its own
   * ({@link WaitForJobOptions}). Default `{ maxAttempts: 3, baseDelayMs: 500, maxDelayMs: 10000 }`.
   */
  retry?: RetryOptions | false;
}

/**
 * Input of {@link BackendClient.requestProcess}.
 *
 * @example
 * ```ts
 * import type { RequestProcessInput } from '@ecg/sdk';
 * const input: RequestProcessInput = { fileKey: 'videos/anonymous/20250911_034548_1a2b3c4d_talk.mp4', language: 'ko' };
 * ```
 */
export interface RequestProcessInput {
  /** The key {@link BackendClient.uploadVideo} returned. */
  fileKey: string;
  /** Spoken language code, or `auto` (the default). */
  language?: string;
  /**
   * Repeating a request with the same key returns the same job (`openapi/v1.1/backend.yaml`,
   * requestProcess). Default: a fresh random key per call, kept across its retries.
   */
  idempotencyKey?: string;
  /**
   * Where the backend POSTs the job's terminal event (v1.1; verify it with `verifyWebhook` from
   * `@ecg/sdk/webhooks`). Refused (422) by a backend without a consumer-webhook secret.
   */
  webhookUrl?: string;
  signal?: AbortSignal;
}

/**
 * Options of {@link BackendClient.processVideo}: those of `uploadVideo` and `waitForJob`, plus the language.
 *
 * @example
 * ```ts
 * import type { ProcessVideoOptions } from '@ecg/sdk';
 * const options: ProcessVideoOptions = {
 *   language: 'auto',
 *   onUploadProgress: (p) => console.log('upload', p.percent),
 *   onProgress: (s) => console.log('job', s.progress, s.message),
 * };
 * ```
 */
export interface ProcessVideoOptions extends Omit<UploadOptions, 'onProgress'>, Omit<WaitForJobOptions, 'onProgress' | 'signal'> {
  language?: string;
  idempotencyKey?: string;
  onUploadProgress?: (progress: UploadProgress) => void;
  onProgress?: (status: JobStatusResponse) => void;
}

/**
 * The client {@link createBackendClient} returns: the raw typed client as `api`, plus helpers.
 *
 * @example
 * ```ts
 * import { createBackendClient, type BackendClient } from '@ecg/sdk';
 * const ecg: BackendClient = createBackendClient({ baseUrl: 'https://ecg.example.com' });
 * const status = await ecg.getStatus('550e8400-e29b-41d4-a716-446655440000');
 * ```
 */
export interface BackendClient {
  /**
   * The openapi-fetch client, typed by the v1.1 contract; the token is sent on every call. Its GETs,
   * cancels and requests with an `Idempotency-Key` are retried ({@link BackendClientOptions.retry});
   * a request that gets no answer throws an {@link EcgApiError} `NETWORK_ERROR`.
   */
  readonly api: BackendApi;
  /**
   * Asks for an upload URL, PUTs the bytes there with the signed headers (never `Authorization`),
   * and resolves with the file key. Only an HTTP 200 from storage counts as success. Not retried.
   */
  uploadVideo(source: UploadSource, options?: UploadOptions): Promise<string>;
  /** Creates a job for an uploaded file. Retried, with one `Idempotency-Key` for all attempts. */
  requestProcess(input: RequestProcessInput): Promise<RequestProcessResponse>;
  /** The job's current status. Retried. */
  getStatus(jobId: string, options?: { signal?: AbortSignal }): Promise<JobStatusResponse>;
  /** Cancels a pending or processing job. Retried (cancelling twice answers the same). */
  cancel(jobId: string, options?: { signal?: AbortSignal }): Promise<CancelJobResponse>;
  /**
   * One page of the caller's own jobs, newest first, without results (needs authentication on the
   * backend: in open mode it answers `NOT_FOUND`). Pass the page's `next_cursor` as `cursor` for the
   * next one. Retried.
   */
  listMyJobs(options?: ListMyJobsOptions): Promise<MyJobsPage>;
  /**
   * Deletes a job, its result and its video. A job the ML server is working on is refused with
   * `CONFLICT` unless `cancel: true`, which cancels it first. Resolves also when the job was already
   * gone (deleting is idempotent). Retried.
   */
  deleteJob(jobId: string, options?: { cancel?: boolean; signal?: AbortSignal }): Promise<void>;
  /**
   * Follows a job until it is `completed`, `failed` or `cancelled` (Server-Sent Events, else polling
   * with `If-None-Match`), retrying transient errors with exponential backoff (`maxRetries`
   * consecutive ones, each reported to `onRetry`), for at most `maxWaitMs`. Rejects with an
   * {@link EcgApiError} on a non-transient error (`JOB_NOT_FOUND` for 404).
   */
  waitForJob(jobId: string, options?: WaitForJobOptions): Promise<TerminalJobStatus>;
  /** `uploadVideo` + `requestProcess` + `waitForJob`. Resolves with the terminal status (check `status`). */
  processVideo(source: UploadSource, options?: ProcessVideoOptions): Promise<TerminalJobStatus>;
}

/**
 * Creates the frontend client of the ECG backend.
 *
 * @example
 * ```ts
 * import { createBackendClient } from '@ecg/sdk';
 *
 * const ecg = createBackendClient({ baseUrl: 'https://ecg.example.com', token: () => session.token });
 * const fileKey = await ecg.uploadVideo(file, { onProgress: (p) => bar.set(p.percent) });
 * const { job_id } = await ecg.requestProcess({ fileKey, language: 'auto' });
 * const final = await ecg.waitForJob(job_id, { onProgress: (s) => label.set(s.message ?? '') });
 * if (final.status === 'completed') render(final.result);
 * ```
 */
export function createBackendClient(options: BackendClientOptions): BackendClient {
  const customFetch = options.fetch;
  const fetchImpl: FetchLike = customFetch ?? ((req) => globalThis.fetch(req));
  const send = describedFetch(fetchImpl);
  const api = createClient<paths>({ baseUrl: trimBase(options.baseUrl), fetch: options.retry === false ? send : retryingFetch(send, options.retry ?? {}) });
  const { token } = options;
  if (token !== undefined) {
    api.use({
      async onRequest({ request }) {
        const value = typeof token === 'function' ? await token() : token;
        if (value) request.headers.set('Authorization', `Bearer ${value}`);
        return request;
      },
    });
  }

  async function uploadVideo(source: UploadSource, opts: UploadOptions = {}): Promise<string> {
    const prepared = await prepare(source, opts);
    const filename = opts.filename ?? prepared.name;
    if (!filename) throw new TypeError('uploadVideo: `filename` is required for this input.');
    const contentType = opts.contentType ?? prepared.type;
    const useXhr = !customFetch && typeof XMLHttpRequest === 'function';
    const { multipart, multipartThreshold = 64 * 1024 * 1024 } = opts;
    if (multipart === true || typeof multipart === 'object' || (multipart === undefined && prepared.size > multipartThreshold)) {
      // Loaded only when needed: a bundler splits it out of the frontend entry.
      const { uploadMultipart } = await import('./multipart.js');
      const ctx = { api, fetch: fetchImpl, xhr: useXhr, filename, contentType, onProgress: opts.onProgress, signal: opts.signal };
      return uploadMultipart(ctx, prepared, typeof multipart === 'object' ? multipart : {});
    }
    const answer = await call(
      api.POST('/api/upload-video/generate-url', {
        body: { filename, ...(contentType ? { content_type: contentType } : {}), file_size: prepared.size, upload_method: opts.uploadMethod ?? 'post' },
        signal: opts.signal ?? null,
        middleware: [expectJson],
      }),
    );
    await putToStorage(uploadTarget(answer), prepared, {
      fetch: fetchImpl,
      xhr: useXhr,
      onProgress: opts.onProgress,
      signal: opts.signal,
      filename,
    });
    return answer.fileKey || answer.file_key;
  }

  function requestProcess(input: RequestProcessInput): Promise<RequestProcessResponse> {
    return call(
      api.POST('/api/upload-video/request-process', {
        body: { fileKey: input.fileKey, language: input.language ?? 'auto', ...(input.webhookUrl ? { webhook_url: input.webhookUrl } : {}) },
        params: { header: { 'Idempotency-Key': input.idempotencyKey ?? randomId() } },
        signal: input.signal ?? null,
        middleware: [expectJson],
      }),
    );
  }

  function getStatus(jobId: string, opts: { signal?: AbortSignal } = {}): Promise<JobStatusResponse> {
    return call(
      api.GET('/api/upload-video/status/{job_id}', { params: { path: { job_id: jobId } }, signal: opts.signal ?? null, middleware: [expectJson] }),
    );
  }

  function cancel(jobId: string, opts: { signal?: AbortSignal } = {}): Promise<CancelJobResponse> {
    return call(
      api.POST('/api/upload-video/cancel/{job_id}', { params: { path: { job_id: jobId } }, signal: opts.signal ?? null, middleware: [expectJson] }),
    );
  }

  function listMyJobs(opts: ListMyJobsOptions = {}): Promise<MyJobsPage> {
    const iso = (d: Date | string) => (typeof d === 'string' ? d : d.toISOString());
    const query = {
      ...(opts.status !== undefined ? { status: opts.status } : {}),
      ...(opts.createdAfter !== undefined ? { created_after: iso(opts.createdAfter) } : {}),
      ...(opts.createdBefore !== undefined ? { created_before: iso(opts.createdBefore) } : {}),
      ...(opts.limit !== undefined ? { limit: opts.limit } : {}),
      ...(opts.cursor !== undefined ? { cursor: opts.cursor } : {}),
    };
    return call(api.GET('/api/upload-video/jobs/mine', { params: { query }, signal: opts.signal ?? null, middleware: [expectJson] }));
  }

  async function deleteJob(jobId: string, opts: { cancel?: boolean; signal?: AbortSignal } = {}): Promise<void> {
    // expectJson turns any error answer into an EcgApiError and lets the 204 through.
    const { response } = await api.DELETE('/api/upload-video/jobs/{job_id}', {
      params: { path: { job_id: jobId }, query: opts.cancel ? { cancel: true } : {} },
      signal: opts.signal ?? null,
      middleware: [expectJson],
    });
    if (response.status !== 204) throw new EcgApiError({ status: response.status, code: 'INVALID_RESPONSE', message: `Expected 204 to DELETE, got HTTP ${response.status}.` });
  }

  async function processVideo(source: UploadSource, opts: ProcessVideoOptions = {}): Promise<TerminalJobStatus> {
    const { onUploadProgress, onProgress, language, idempotencyKey, filename, contentType, size, signal, multipart, multipartThreshold, ...wait } = opts;
    const fileKey = await uploadVideo(source, {
      ...(filename !== undefined ? { filename } : {}),
      ...(contentType !== undefined ? { contentType } : {}),
      ...(size !== undefined ? { size } : {}),
      ...(multipart !== undefined ? { multipart } : {}),
      ...(multipartThreshold !== undefined ? { multipartThreshold } : {}),
      ...(onUploadProgress ? { onProgress: onUploadProgress } : {}),
      ...(signal ? { signal } : {}),
    });
    const job = await requestProcess({
      fileKey,
      ...(language !== undefined ? { language } : {}),
      ...(idempotencyKey !== undefined ? { idempotencyKey } : {}),
      ...(signal ? { signal } : {}),
    });
    return waitForJob(api, send, job.job_id, { ...wait, ...(onProgress ? { onProgress } : {}), ...(signal ? { signal } : {}) });
  }

  return {
    api,
    uploadVideo,
    requestProcess,
    getStatus,
    cancel,
    listMyJobs,
    deleteJob,
    waitForJob: (jobId, opts) => waitForJob(api, send, jobId, opts),
    processVideo,
  };
}
