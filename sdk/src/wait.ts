/**
 * Following a job to its end: Server-Sent Events first, polling with ETags after, transient
 * errors retried with backoff.
 * @module
 */
import { EcgApiError, errorFromResponse } from './errors.js';
import { CallerError, followEvents, isTerminal } from './follow.js';
import { expectJson, isTransient } from './call.js';
import { abortReason, backoffDelay, isAbortLike, sleep } from './internal.js';
import type { BackendApi, JobStatusResponse, TerminalJobStatus } from './types.js';

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
  /** Stops waiting; the promise rejects with the signal's reason. */
  signal?: AbortSignal;
  /** Polling interval when Server-Sent Events are not available, and the base of the backoff. Default 2000. */
  intervalMs?: number;
  /** The longest wait between retries after transient errors (network, 5xx, 429). Default 30000. */
  maxBackoffMs?: number;
  /** Consecutive transient errors tolerated before giving up (rejecting with the last one). Default 10. */
  maxRetries?: number;
  /** Try Server-Sent Events first. Default true. */
  sse?: boolean;
  /** An event stream silent for this long (the backend sends keep-alives) is dropped. Default 60000. */
  sseIdleTimeoutMs?: number;
}

/** @internal The implementation of {@link BackendClient.waitForJob}. */
export async function waitForJob(api: BackendApi, jobId: string, opts: WaitForJobOptions = {}): Promise<TerminalJobStatus> {
  const { signal, onProgress } = opts;
  const intervalMs = opts.intervalMs ?? 2000;
  const maxBackoffMs = opts.maxBackoffMs ?? 30_000;
  const maxRetries = opts.maxRetries ?? 10;
  // An error thrown by the caller's own callback ends the wait with that error; it is never taken
  // for a transport failure (which would be retried).
  const emit = (s: JobStatusResponse) => {
    try {
      onProgress?.(s);
    } catch (cause) {
      throw new CallerError(cause);
    }
  };

  if (opts.sse !== false) {
    const viaEvents = await followEvents(api, jobId, { signal, intervalMs, idleMs: opts.sseIdleTimeoutMs ?? 60_000, emit });
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
    }
    await sleep(delay, signal);
  }
}
