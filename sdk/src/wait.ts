/**
 * Following a job to its end: Server-Sent Events first, polling with ETags after, transient
 * errors retried with backoff.
 * @module
 */
import { expectJson, isTransient } from './call.js';
import { EcgApiError, errorFromResponse } from './errors.js';
import { CallerError, followEvents, isTerminal } from './follow.js';
import { abortReason, backoffDelay, isAbortLike, sleep } from './internal.js';
import type { RetryInfo } from './transport.js';
import type { BackendApi, FetchLike, JobStatusResponse, TerminalJobStatus } from './types.js';

/**
 * Options of {@link BackendClient.waitForJob}.
 *
 * @example
 * ```ts
 * import type { WaitForJobOptions } from '@ecg/sdk';
 * const options: WaitForJobOptions = { intervalMs: 2000, onProgress: (s) => console.log(s.progress) };
 * ```
 */
export interface WaitForJobOptions {
  /** Called with every status received (each Server-Sent Event, each changed poll answer). */
  onProgress?: (status: JobStatusResponse) => void;
  /** Stops waiting; the promise rejects with the signal's reason (wrapped in an `AbortError` when it is not an `Error`). */
  signal?: AbortSignal;
  /** Polling interval when Server-Sent Events are not available, and the base of the backoff. Default 2000. */
  intervalMs?: number;
  /** The longest wait between retries after transient errors (network, 5xx, 429). Default 30000. */
  maxBackoffMs?: number;
  /** Consecutive transient errors tolerated before giving up (rejecting with the last one). Default 10. */
  maxRetries?: number;
  /**
   * Called before each wait after a transient error while polling (network, 5xx, 429, a broken
   * answer), with the count of consecutive failures, the wait, and the error. An error it throws
   * ends the wait with that error.
   */
  onRetry?: (info: RetryInfo) => void;
  /**
   * The longest the whole wait may take; then it rejects with an {@link EcgApiError} of code
   * `TIMEOUT` naming the last status seen. Default: no limit.
   */
  maxWaitMs?: number;
  /** Try Server-Sent Events first. Default true. */
  sse?: boolean;
  /** An event stream silent for this long (the backend sends keep-alives) is dropped. Default 60000. */
  sseIdleTimeoutMs?: number;
}

/**
 * @internal The implementation of {@link BackendClient.waitForJob}. `send` is the fetch without the
 * client's retries: following and polling retry by their own rules.
 */
export async function waitForJob(api: BackendApi, send: FetchLike, jobId: string, opts: WaitForJobOptions = {}): Promise<TerminalJobStatus> {
  const { maxWaitMs } = opts;
  let last: JobStatusResponse | undefined;
  const seen = (s: JobStatusResponse) => {
    last = s;
    opts.onProgress?.(s);
  };
  if (maxWaitMs === undefined) return follow(api, send, jobId, opts, opts.signal, seen);
  const controller = new AbortController();
  const outer = opts.signal;
  const onAbort = () => controller.abort(outer ? abortReason(outer) : undefined);
  if (outer?.aborted) onAbort();
  else outer?.addEventListener('abort', onAbort, { once: true });
  const timer = setTimeout(() => {
    const state = last ? `${last.status}, ${last.progress}%` : 'no status received';
    controller.abort(new EcgApiError({ status: 0, code: 'TIMEOUT', message: `Job ${jobId} did not finish within ${maxWaitMs} ms (last seen: ${state}).` }));
  }, maxWaitMs);
  try {
    return await follow(api, send, jobId, opts, controller.signal, seen);
  } finally {
    clearTimeout(timer);
    outer?.removeEventListener('abort', onAbort);
  }
}

async function follow(
  api: BackendApi,
  send: FetchLike,
  jobId: string,
  opts: WaitForJobOptions,
  signal: AbortSignal | undefined,
  onProgress: (s: JobStatusResponse) => void,
): Promise<TerminalJobStatus> {
  const intervalMs = opts.intervalMs ?? 2000;
  const maxBackoffMs = opts.maxBackoffMs ?? 30_000;
  const maxRetries = opts.maxRetries ?? 10;
  // An error thrown by the caller's own callback ends the wait with that error; it is never taken
  // for a transport failure (which would be retried).
  const emit = (s: JobStatusResponse) => {
    try {
      onProgress(s);
    } catch (cause) {
      throw new CallerError(cause);
    }
  };

  if (opts.sse !== false) {
    const viaEvents = await followEvents(api, jobId, { fetch: send, signal, intervalMs, idleMs: opts.sseIdleTimeoutMs ?? 60_000, emit });
    if (viaEvents) return viaEvents;
  }

  let etag: string | undefined;
  let failures = 0;
  for (;;) {
    if (signal?.aborted) throw abortReason(signal);
    let delay = intervalMs;
    try {
      const { data, error, response } = await api.GET('/api/upload-video/status/{job_id}', {
        params: { path: { job_id: jobId }, header: etag ? { 'If-None-Match': etag } : {} },
        signal: signal ?? null,
        middleware: [expectJson],
        fetch: send,
      });
      if (response.status === 304) {
        failures = 0;
      } else if (response.ok && data) {
        failures = 0;
        etag = response.headers.get('ETag') ?? undefined;
        emit(data);
        if (isTerminal(data)) return data;
      } else {
        throw errorFromResponse(response, error);
      }
    } catch (caught) {
      if (caught instanceof CallerError) throw caught.cause;
      if (signal?.aborted) throw abortReason(signal);
      if (isAbortLike(caught)) throw caught;
      const err =
        caught instanceof EcgApiError
          ? caught
          : new EcgApiError({ status: 0, code: 'NETWORK_ERROR', message: caught instanceof Error ? caught.message : String(caught), cause: caught });
      if (!isTransient(err) || ++failures > maxRetries) throw err;
      delay = Math.max(backoffDelay(failures, intervalMs, maxBackoffMs), err.retryAfterMs ?? 0);
      opts.onRetry?.({ attempt: failures, delayMs: delay, error: err });
    }
    await sleep(delay, signal);
  }
}
