/**
 * `@ecg/sdk/ml-server`: what an ML server needs to work with the ECG backend: the types of
 * `process-video` (both contract versions) and a callback client that reports progress, results
 * and failures, signed (Standard Webhooks) and retried.
 * @module
 */
import { Webhook } from 'standardwebhooks';
import { EcgApiError, errorFromResponse } from './errors.js';
import type * as V10 from './generated/v1.0/ml-server.js';
import type * as V11 from './generated/v1.1/ml-server.js';
import { backoffDelay, describeFetchError, isTransientStatus, sleep, trimBase } from './internal.js';

export { EcgApiError } from './errors.js';
export type { ApiErrorBody, ApiErrorCode, SdkErrorCode } from './errors.js';

type S11 = V11.components['schemas'];
type S10 = V10.components['schemas'];

/**
 * The body of `POST /api/upload-video/process-video` (v1.1): `job_id`, `video_url`,
 * `fastapi_base_url`, `language` and the optional flags.
 *
 * @example
 * ```ts
 * import type { ProcessVideoRequest } from '@ecg/sdk/ml-server';
 * const accept = (req: ProcessVideoRequest) => ({ job: req.job_id, lang: req.language ?? 'auto', base: req.fastapi_base_url });
 * ```
 */
export type ProcessVideoRequest = S11['ProcessVideoRequest'];

/**
 * The v1.1 answer to `process-video` (`status: "processing"`, `status_url`).
 *
 * @example
 * ```ts
 * import type { ProcessVideoResponse } from '@ecg/sdk/ml-server';
 * const answer: ProcessVideoResponse = { job_id: 'j1', status: 'processing', message: 'Started', status_url: '/api/upload-video/status/j1' };
 * ```
 */
export type ProcessVideoResponse = S11['ProcessVideoResponse'];

/**
 * The body of `process-video` in v1.0: `{ job_id, video_url }`.
 *
 * @example
 * ```ts
 * import type { ProcessVideoRequestV1_0 } from '@ecg/sdk/ml-server';
 * const req: ProcessVideoRequestV1_0 = { job_id: 'j1', video_url: 'https://storage.example.com/v.mp4?sig=...' };
 * ```
 */
export type ProcessVideoRequestV1_0 = S10['ProcessVideoRequest'];

/**
 * The v1.0 answer to `process-video` (`status: "accepted"`).
 *
 * @example
 * ```ts
 * import type { ProcessVideoResponseV1_0 } from '@ecg/sdk/ml-server';
 * const answer: ProcessVideoResponseV1_0 = { job_id: 'j1', status: 'accepted' };
 * ```
 */
export type ProcessVideoResponseV1_0 = S10['ProcessVideoResponse'];

/**
 * The error body an ML server answers with: `{ error: { code, message, job_id } }`.
 *
 * @example
 * ```ts
 * import type { MlErrorBody } from '@ecg/sdk/ml-server';
 * const refuse: MlErrorBody = { error: { code: 'INVALID_REQUEST', message: 'video_url is required', job_id: null } };
 * ```
 */
export type MlErrorBody = S11['MlError'];

/**
 * FastAPI's validation answer (422): `{ detail: [...] }`.
 *
 * @example
 * ```ts
 * import type { MlValidationErrorBody } from '@ecg/sdk/ml-server';
 * const body: MlValidationErrorBody = { detail: [{ loc: ['body', 'language'], msg: 'Input should be a valid string' }] };
 * ```
 */
export type MlValidationErrorBody = S11['MlValidationError'];

/**
 * The ML server's `GET /health` answer.
 *
 * @example
 * ```ts
 * import type { MlHealth } from '@ecg/sdk/ml-server';
 * const health: MlHealth = { status: 'healthy' };
 * ```
 */
export type MlHealth = S11['MlHealth'];

/**
 * The ML server's optional `GET /api/upload-video/status/{job_id}` answer.
 *
 * @example
 * ```ts
 * import type { MlJobStatus } from '@ecg/sdk/ml-server';
 * const status: MlJobStatus = { job_id: 'j1', status: 'processing', progress: 40, message: 'Speaker identification' };
 * ```
 */
export type MlJobStatus = S11['MlJobStatus'];

/**
 * A transcription result as an ML server sends it (every known variant is accepted; the backend
 * normalises it to `TranscriptResult`).
 *
 * @example
 * ```ts
 * import type { MlResult } from '@ecg/sdk/ml-server';
 * const result: MlResult = {
 *   text: 'Hello there.', language: 'en', duration: 2.5,
 *   segments: [{ id: 0, start: 0, end: 2.5, text: 'Hello there.', speaker: 'SPEAKER_00',
 *     words: [{ word: 'Hello', start: 0, end: 0.8, confidence: 0.98, volume_db: -20.1, pitch_hz: 180 }] }],
 *   metadata: { model_version: 'whisperx-large-v3', processing_time: 12.3 },
 * };
 * ```
 */
export type MlResult = S11['MlResult'];

/**
 * One segment of an {@link MlResult}.
 *
 * @example
 * ```ts
 * import type { MlSegment } from '@ecg/sdk/ml-server';
 * const segment: MlSegment = { start: 0, end: 1.2, text: 'Hi', speaker: { speaker_id: 'SPEAKER_01' }, words: [] };
 * ```
 */
export type MlSegment = S11['MlSegment'];

/**
 * One word of an {@link MlSegment}.
 *
 * @example
 * ```ts
 * import type { MlWord } from '@ecg/sdk/ml-server';
 * const word: MlWord = { word: 'Hi', start: 0, end: 0.4, confidence: 0.9, acoustic_features: { volume_db: -18, pitch_hz: 210 } };
 * ```
 */
export type MlWord = S11['MlWord'];

/**
 * The `metadata` of an {@link MlResult}.
 *
 * @example
 * ```ts
 * import type { MlResultMetadata } from '@ecg/sdk/ml-server';
 * const metadata: MlResultMetadata = { filename: 'talk.mp4', model_version: 'whisperx-large-v3', processing_time: 42.1 };
 * ```
 */
export type MlResultMetadata = S11['MlResultMetadata'];

/**
 * A callback body as the contract describes it (keys may be missing or null).
 *
 * @example
 * ```ts
 * import type { MlCallbackBody } from '@ecg/sdk/ml-server';
 * const body: MlCallbackBody = { job_id: 'j1', status: 'processing', progress: 40 };
 * ```
 */
export type MlCallbackBody = S11['MlCallback'];

/**
 * The callback body this client sends: always all seven keys, `null` where a key does not apply
 * (as the real ML server does).
 *
 * @example
 * ```ts
 * import type { CallbackBody } from '@ecg/sdk/ml-server';
 * const body: CallbackBody = {
 *   job_id: 'j1', status: 'failed', progress: null, message: null, result: null,
 *   error_message: 'Could not download the video', error_code: 'DOWNLOAD_ERROR',
 * };
 * ```
 */
export type CallbackBody = Required<
  Pick<MlCallbackBody, 'job_id' | 'status' | 'progress' | 'message' | 'result' | 'error_message' | 'error_code'>
>;

/**
 * The backend's answer to a delivered callback: `received`, or `ignored` with a `reason` (job already
 * finished, cancelled, or the same `webhook-id` delivered before).
 *
 * @example
 * ```ts
 * import type { CallbackAck } from '@ecg/sdk/ml-server';
 * const log = (ack: CallbackAck) => (ack.status === 'ignored' ? console.warn('ignored:', ack.reason) : undefined);
 * ```
 */
export type CallbackAck = S11['CallbackAck'];

/**
 * The contract versions: `v1.1` posts callbacks to `/api/upload-video/result`, `v1.0` to `/api/v1/ml/ml-results`.
 *
 * @example
 * ```ts
 * import type { ContractVersion } from '@ecg/sdk/ml-server';
 * const version: ContractVersion = process.env.ECG_API_VERSION === 'v1.0' ? 'v1.0' : 'v1.1';
 * ```
 */
export type ContractVersion = 'v1.0' | 'v1.1';

/**
 * The fetch the callback client calls (always with a `Request`). `globalThis.fetch` fits.
 *
 * @example
 * ```ts
 * import type { CallbackFetch } from '@ecg/sdk/ml-server';
 * const viaProxy: CallbackFetch = (req) => fetch(req);
 * ```
 */
export type CallbackFetch = (input: Request) => Promise<Response>;

/**
 * Options of {@link createCallbackClient}.
 *
 * @example
 * ```ts
 * import type { CallbackClientOptions } from '@ecg/sdk/ml-server';
 * const options: CallbackClientOptions = { baseUrl: request.fastapi_base_url!, secret: process.env.WEBHOOK_SECRET };
 * ```
 */
export interface CallbackClientOptions {
  /** The `fastapi_base_url` received in `process-video` (it may carry a per-job token path). */
  baseUrl: string;
  /**
   * The backend's `WEBHOOK_SECRET`; when given, every callback is signed (Standard Webhooks). A
   * `whsec_<base64>` secret is used as Standard Webhooks defines it; any other string as raw key bytes.
   */
  secret?: string | undefined;
  /** Which callback path to use. Default `v1.1`. */
  version?: ContractVersion;
  fetch?: CallbackFetch;
  /** Attempts per callback, the first included. Default 5. */
  maxAttempts?: number;
  /** The total time one callback may take, retries and waits included. Default 120000 ms. */
  deadlineMs?: number;
  /** The time one attempt may take. Default 30000 ms (the backend answers well within it). */
  attemptTimeoutMs?: number;
  /** The first retry delay; doubled per attempt, with jitter. Default 500 ms. */
  baseDelayMs?: number;
  /** The longest retry delay (Retry-After may ask for more, within the deadline). Default 30000 ms. */
  maxDelayMs?: number;
}

/**
 * Reports a job's progress, result or failure to the backend. Every method resolves with the
 * backend's acknowledgement, or rejects with an {@link EcgApiError} (a 4xx other than 429 at once;
 * network errors, 5xx and 429 after the retries or the deadline ran out).
 *
 * @example
 * ```ts
 * import { createCallbackClient, type CallbackClient } from '@ecg/sdk/ml-server';
 * const callbacks: CallbackClient = createCallbackClient({ baseUrl: 'https://ecg.example.com', secret: 'whsec_...' });
 * await callbacks.progress('550e8400-e29b-41d4-a716-446655440000', 10, 'Extracting audio');
 * ```
 */
export interface CallbackClient {
  /** `status: "processing"` with a percentage (0–100) and an optional stage message. */
  progress(jobId: string, percent: number, message?: string): Promise<CallbackAck>;
  /** `status: "completed"`, `progress: 100`, with the result. */
  completed(jobId: string, result: MlResult): Promise<CallbackAck>;
  /** `status: "failed"` with an error code (`DOWNLOAD_ERROR`, `PROCESSING_ERROR`, ...) and a message. */
  failed(jobId: string, code: string, message: string): Promise<CallbackAck>;
  /** Sends a complete body as is (signed and retried like the others). */
  send(body: CallbackBody): Promise<CallbackAck>;
  /** The URL callbacks are posted to. */
  readonly url: string;
}

function parseAck(text: string): CallbackAck {
  try {
    const value: unknown = JSON.parse(text);
    if (typeof value === 'object' && value !== null) {
      const v = value as Record<string, unknown>;
      if (v['status'] === 'received' || v['status'] === 'ignored') return value as CallbackAck;
    }
  } catch {
    // A 2xx without the JSON ack still means delivered.
  }
  return { status: 'received' };
}

/**
 * Creates a callback client for one backend (`fastapi_base_url`).
 *
 * @example
 * ```ts
 * import { createCallbackClient } from '@ecg/sdk/ml-server';
 *
 * const callbacks = createCallbackClient({ baseUrl: req.fastapi_base_url!, secret: process.env.WEBHOOK_SECRET });
 * await callbacks.progress(req.job_id, 25, 'Speech detection');
 * try {
 *   await callbacks.completed(req.job_id, await transcribe(req.video_url));
 * } catch (err) {
 *   await callbacks.failed(req.job_id, 'PROCESSING_ERROR', String(err));
 * }
 * ```
 */
export function createCallbackClient(options: CallbackClientOptions): CallbackClient {
  const version = options.version ?? 'v1.1';
  const url = `${trimBase(options.baseUrl)}${version === 'v1.0' ? '/api/v1/ml/ml-results' : '/api/upload-video/result'}`;
  // As the backend reads WEBHOOK_SECRET: `whsec_<base64>` is a Standard Webhooks key, any other string is the key's raw bytes.
  const webhook = options.secret ? (options.secret.startsWith('whsec_') ? new Webhook(options.secret) : new Webhook(options.secret, { format: 'raw' })) : undefined;
  const fetchImpl: CallbackFetch = options.fetch ?? ((req) => globalThis.fetch(req));
  const maxAttempts = Math.max(1, options.maxAttempts ?? 5);
  const deadlineMs = options.deadlineMs ?? 120_000;
  const attemptTimeoutMs = options.attemptTimeoutMs ?? 30_000;
  const baseDelayMs = options.baseDelayMs ?? 500;
  const maxDelayMs = options.maxDelayMs ?? 30_000;

  async function send(body: CallbackBody): Promise<CallbackAck> {
    const payload = JSON.stringify(body);
    const msgId = `msg_${crypto.randomUUID()}`; // one id per callback, kept across its retries
    const deadline = Date.now() + deadlineMs;
    let lastError: EcgApiError | undefined;

    for (let attempt = 1; ; attempt++) {
      const remaining = deadline - Date.now();
      if (remaining <= 0) break;
      const headers = new Headers({ 'Content-Type': 'application/json' });
      if (webhook) {
        const now = new Date(); // timestamp and signature are fresh for every attempt
        headers.set('webhook-id', msgId);
        headers.set('webhook-timestamp', String(Math.floor(now.getTime() / 1000)));
        headers.set('webhook-signature', webhook.sign(msgId, now, payload));
      }
      const timeout = AbortSignal.timeout(Math.min(attemptTimeoutMs, remaining));
      let response: Response | undefined;
      try {
        response = await fetchImpl(new Request(url, { method: 'POST', headers, body: payload, signal: timeout }));
      } catch (err) {
        lastError = timeout.aborted
          ? new EcgApiError({ status: 0, code: 'TIMEOUT', message: `The callback got no answer within ${Math.min(attemptTimeoutMs, remaining)} ms.`, cause: err })
          : new EcgApiError({ status: 0, code: 'NETWORK_ERROR', message: `The callback could not be delivered: ${describeFetchError(err)}`, cause: err });
      }
      if (response) {
        const text = await response.text().catch(() => '');
        if (response.ok) return parseAck(text);
        let parsed: unknown = text;
        try {
          parsed = JSON.parse(text);
        } catch {
          // not JSON
        }
        lastError = errorFromResponse(response, parsed);
        if (!isTransientStatus(response.status)) throw lastError;
      }
      if (attempt >= maxAttempts) break;
      const wait = Math.max(backoffDelay(attempt, baseDelayMs, maxDelayMs), lastError?.retryAfterMs ?? 0);
      if (Date.now() + wait >= deadline) break;
      await sleep(wait);
    }
    throw lastError ?? new EcgApiError({ status: 0, code: 'TIMEOUT', message: `The callback was not delivered within ${deadlineMs} ms.` });
  }

  const base = (jobId: string) => ({ job_id: jobId, progress: null, message: null, result: null, error_message: null, error_code: null });

  return {
    url,
    send,
    progress: (jobId, percent, message) =>
      send({ ...base(jobId), status: 'processing', progress: Math.max(0, Math.min(100, Math.round(percent))), message: message ?? null }),
    completed: (jobId, result) => send({ ...base(jobId), status: 'completed', progress: 100, result }),
    failed: (jobId, code, message) => send({ ...base(jobId), status: 'failed', error_code: code, error_message: message }),
  };
}
