/**
 * The callback client an ML server reports with: every body carries all seven keys, is signed
 * when a secret is given (`docs/callbacks.md`), and is retried with backoff within a deadline.
 * @module
 */
import { EcgApiError, errorFromResponse } from './errors.js';
import { backoffDelay, describeFetchError, isTransientStatus, sleep, trimBase } from './internal.js';
import type { CallbackAck, CallbackBody, ContractVersion, MlResult } from './ml-server-types.js';
import { callbackSigner } from './signing.js';

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
  const sign = options.secret ? callbackSigner(options.secret) : undefined;
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
      if (sign) for (const [name, value] of Object.entries(sign(msgId, payload))) headers.set(name, value);
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

