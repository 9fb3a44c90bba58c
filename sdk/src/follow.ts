/**
 * Following a job over its Server-Sent Events stream (`GET .../status/{job_id}/events`, see
 * `docs/job-lifecycle.md` for the events). Gives up quietly (so the caller polls instead) when
 * the stream is not offered, never worked, or keeps dropping.
 * @internal
 * @module
 */
import { isTransient } from './call.js';
import { EcgApiError } from './errors.js';
import { abortReason, sleep } from './internal.js';
import { readSse } from './sse.js';
import type { BackendApi, FetchLike, JobStatus, JobStatusResponse, TerminalJobStatus } from './types.js';

const TERMINAL: readonly JobStatus[] = ['completed', 'failed', 'cancelled'];

/** @internal Whether a status is one a job does not leave. */
export const isTerminal = (s: JobStatusResponse): s is TerminalJobStatus => TERMINAL.includes(s.status);

/** @internal Carries an error thrown by the caller's `onProgress` through the transport's error handling. */
export class CallerError extends Error {
  override readonly name = 'CallerError';
  constructor(override readonly cause: unknown) {
    super('The onProgress callback threw', { cause });
  }
}

function parseStatus(json: string): JobStatusResponse | undefined {
  try {
    const value: unknown = JSON.parse(json);
    if (typeof value === 'object' && value !== null && 'job_id' in value && 'status' in value) return value as JobStatusResponse;
  } catch {
    // not JSON: ignored
  }
  return undefined;
}

/** @internal What {@link followEvents} needs besides the client and the job. */
export interface FollowOptions {
  /** The fetch without the client's retries (reconnecting is decided here). */
  fetch: FetchLike;
  signal: AbortSignal | undefined;
  /** Base of the pause before a reconnect (at most one second). */
  intervalMs: number;
  /** A stream silent for this long is dropped. */
  idleMs: number;
  /** Hands each status to the caller; throws a {@link CallerError} when the caller's callback throws. */
  emit: (s: JobStatusResponse) => void;
}

/**
 * @internal Follows the event stream to a terminal status; `undefined` means "poll instead" (no
 * stream, a stream that never delivered a status, or more than three drops in a row).
 */
export async function followEvents(api: BackendApi, jobId: string, o: FollowOptions): Promise<TerminalJobStatus | undefined> {
  let reconnects = 0;
  for (;;) {
    if (o.signal?.aborted) throw abortReason(o.signal);
    const controller = new AbortController();
    const onAbort = () => controller.abort(o.signal ? abortReason(o.signal) : undefined);
    o.signal?.addEventListener('abort', onAbort, { once: true });
    let idle: ReturnType<typeof setTimeout> | undefined;
    const arm = () => {
      clearTimeout(idle);
      idle = setTimeout(() => controller.abort(new DOMException('The event stream went silent', 'TimeoutError')), o.idleMs);
    };
    let events = 0;
    try {
      arm();
      const { data: stream, response } = await api.GET('/api/upload-video/status/{job_id}/events', {
        params: { path: { job_id: jobId } },
        parseAs: 'stream',
        headers: { Accept: 'text/event-stream' },
        signal: controller.signal,
        fetch: o.fetch,
      });
      if (!response.ok || !stream || !/text\/event-stream/i.test(response.headers.get('Content-Type') ?? '')) {
        await stream?.cancel().catch(() => {});
        return undefined;
      }
      for await (const event of readSse(stream, arm, controller.signal)) {
        if (event.event !== 'status') continue;
        const status = parseStatus(event.data);
        if (!status) continue;
        events++;
        reconnects = 0;
        o.emit(status);
        if (isTerminal(status)) return status;
      }
    } catch (err) {
      if (err instanceof CallerError) throw err.cause;
      if (o.signal?.aborted) throw abortReason(o.signal);
      if (err instanceof EcgApiError && !isTransient(err)) throw err;
      // A dropped or silent stream: reconnect below if it had been working.
    } finally {
      clearTimeout(idle);
      o.signal?.removeEventListener('abort', onAbort);
    }
    if (o.signal?.aborted) throw abortReason(o.signal);
    if (events === 0 || ++reconnects > 3) return undefined;
    await sleep(Math.min(o.intervalMs, 1000), o.signal);
  }
}
