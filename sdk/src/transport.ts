/**
 * The fetch under every backend call of the frontend client: a request that gets no answer
 * becomes an EcgApiError naming the method, the URL and the cause, and the requests that are safe
 * to repeat are repeated on network errors, 429 and 5xx.
 * @module
 */
import { EcgApiError, errorFromResponse, parseRetryAfter, readPayload, redactUrl } from './errors.js';
import { backoffDelay, fetchErrorCode, isAbortLike, isTransientStatus, sleep } from './internal.js';
import type { FetchLike } from './types.js';

/**
 * What {@link RetryOptions.onRetry} and {@link WaitForJobOptions.onRetry} hear before each wait:
 * the attempt that just failed (1 for the first try), how long the SDK now waits, and why.
 *
 * @example
 * ```ts
 * import type { RetryInfo } from '@ecg/sdk';
 * const log = ({ attempt, delayMs, error }: RetryInfo) => console.warn(`attempt ${attempt}: ${error.message}; again in ${delayMs} ms`);
 * ```
 */
export interface RetryInfo {
  attempt: number;
  delayMs: number;
  error: EcgApiError;
}

/**
 * How {@link createBackendClient} repeats the calls that are safe to repeat (see
 * {@link BackendClientOptions.retry} for which): on network errors, 429 and 5xx, with exponential
 * backoff and jitter, waiting at least what `Retry-After` asks.
 *
 * @example
 * ```ts
 * import type { RetryOptions } from '@ecg/sdk';
 * const retry: RetryOptions = { maxAttempts: 5, onRetry: ({ error }) => console.warn(error.message) };
 * ```
 */
export interface RetryOptions {
  /** Attempts per call, the first included. Default 3; 1 turns retrying off. */
  maxAttempts?: number;
  /** The first delay, doubled per attempt (with jitter). Default 500 ms. */
  baseDelayMs?: number;
  /**
   * The longest delay. An answer whose `Retry-After` asks for longer is not waited for: the call
   * rejects at once, with `retryAfterMs` on the error. Default 10000 ms.
   */
  maxDelayMs?: number;
  /** Called before each wait. */
  onRetry?: (info: RetryInfo) => void;
}

/** @internal An {@link EcgApiError} for a request that got no HTTP answer. */
export function networkError(request: Request, err: unknown): EcgApiError {
  const url = redactUrl(request.url);
  const code = fetchErrorCode(err);
  const cause = err instanceof Error ? (err as { cause?: unknown }).cause : undefined;
  // Node's own message is a bare "fetch failed"; the cause says what happened.
  let detail = cause instanceof Error && cause.message ? cause.message : err instanceof Error ? err.message : String(err);
  if (code && !detail.includes(code)) detail += ` (${code})`;
  return new EcgApiError({ status: 0, code: 'NETWORK_ERROR', message: `${request.method} ${url} failed: ${detail}`, method: request.method, url, cause: err });
}

/** @internal `fetchImpl`, with a failure to get any answer reported as a NETWORK_ERROR naming the request. */
export function describedFetch(fetchImpl: FetchLike): FetchLike {
  return async (request) => {
    try {
      return await fetchImpl(request);
    } catch (err) {
      if (isAbortLike(err) || request.signal.aborted) throw err;
      throw networkError(request, err);
    }
  };
}

/**
 * @internal Whether repeating a request cannot do anything twice: GET and HEAD (event streams
 * excepted: their reconnects are the follower's business), cancel (the spec: cancelling a cancelled
 * job answers the same again), DELETE (deleting a deleted job answers 204 again), and any request
 * with an `Idempotency-Key`.
 */
export function isRepeatable(request: Request): boolean {
  const method = request.method.toUpperCase();
  if (method === 'GET' || method === 'HEAD') return !/text\/event-stream/i.test(request.headers.get('Accept') ?? '');
  if (request.headers.has('Idempotency-Key') || method === 'DELETE') return true;
  return method === 'POST' && /\/api\/upload-video\/cancel\/[^/]+$/.test(new URL(request.url).pathname);
}

/** @internal `send` (which reports network errors as EcgApiError), repeating repeatable requests as `options` say. */
export function retryingFetch(send: FetchLike, options: RetryOptions): FetchLike {
  const maxAttempts = Math.max(1, options.maxAttempts ?? 3);
  const baseDelayMs = options.baseDelayMs ?? 500;
  const maxDelayMs = options.maxDelayMs ?? 10_000;
  return async (request) => {
    if (maxAttempts === 1 || !isRepeatable(request)) return send(request);
    for (let attempt = 1; ; attempt++) {
      const last = attempt >= maxAttempts;
      let error: EcgApiError;
      try {
        // A body can be read once: every attempt but the last sends a copy.
        const response = await send(last ? request : request.clone());
        const retryAfterMs = parseRetryAfter(response.headers.get('Retry-After'));
        if (last || !isTransientStatus(response.status) || (retryAfterMs ?? 0) > maxDelayMs) return response;
        error = errorFromResponse(response, await readPayload(response), request);
      } catch (err) {
        if (last || !(err instanceof EcgApiError)) throw err;
        error = err;
      }
      const delayMs = Math.max(backoffDelay(attempt, baseDelayMs, maxDelayMs), Math.min(error.retryAfterMs ?? 0, maxDelayMs));
      options.onRetry?.({ attempt, delayMs, error });
      await sleep(delayMs, request.signal);
    }
  };
}
