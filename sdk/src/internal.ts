/**
 * Small helpers shared by the entries. Not part of the public API (not in `exports`).
 * @internal
 * @module
 */

/**
 * @internal The reason a signal was aborted, as the error every aborted SDK call rejects with: the
 * reason itself when it is an `Error` (the default `AbortError` and `AbortSignal.timeout()`'s
 * `TimeoutError` are `DOMException`s, which are), otherwise an `AbortError` that carries the
 * caller's value as its `cause`, so callers can always test `name` and read `message`.
 */
export function abortReason(signal: AbortSignal): Error {
  const reason: unknown = signal.reason;
  if (reason instanceof Error) return reason;
  if (reason === undefined) return new DOMException('This operation was aborted', 'AbortError');
  const err = new Error('This operation was aborted', { cause: reason });
  err.name = 'AbortError';
  return err;
}

/** @internal Resolves after `ms`, rejects with the signal's reason as soon as it aborts. */
export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) {
      reject(abortReason(signal));
      return;
    }
    const onAbort = () => {
      clearTimeout(timer);
      reject(abortReason(signal as AbortSignal));
    };
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, Math.max(0, ms));
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}

/**
 * @internal Exponential backoff with jitter: `base * 2^(attempt-1)`, capped, then scaled by a random
 * factor in [0.5, 1] so that many clients do not retry in lockstep.
 */
export function backoffDelay(attempt: number, baseMs: number, capMs: number): number {
  const exp = Math.min(capMs, baseMs * 2 ** Math.max(0, attempt - 1));
  return Math.round(exp * (0.5 + Math.random() * 0.5));
}

/** @internal Whether an HTTP status is worth retrying (5xx, 429). */
export function isTransientStatus(status: number): boolean {
  return status >= 500 || status === 429;
}

/** @internal Whether a thrown value is an abort or a timeout (DOMException-like). */
export function isAbortLike(err: unknown): boolean {
  return (
    typeof err === 'object' &&
    err !== null &&
    'name' in err &&
    ((err).name === 'AbortError' || (err).name === 'TimeoutError')
  );
}

/** @internal The system error code behind a failed fetch (`ECONNREFUSED`, `ENOTFOUND`, ...), when there is one. */
export function fetchErrorCode(err: unknown): string | undefined {
  let cause: unknown = err instanceof Error ? (err as { cause?: unknown }).cause : undefined;
  // Node reports a host with several addresses as an AggregateError; its parts carry the code too.
  for (let depth = 0; depth < 3 && typeof cause === 'object' && cause !== null; depth++) {
    const c = cause as { code?: unknown; errors?: unknown; cause?: unknown };
    if (typeof c.code === 'string') return c.code;
    cause = Array.isArray(c.errors) ? c.errors[0] : c.cause;
  }
  return undefined;
}

/** @internal A short description of a failed fetch (with the cause's code, e.g. ECONNREFUSED, when there is one). */
export function describeFetchError(err: unknown): string {
  if (!(err instanceof Error)) return String(err);
  const code = fetchErrorCode(err);
  return code && !err.message.includes(code) ? `${err.message} (${code})` : err.message;
}

/** @internal A random id (UUID v4 form); `crypto.randomUUID` exists only in secure browser contexts. */
export function randomId(): string {
  if (typeof crypto.randomUUID === 'function') return crypto.randomUUID();
  const b = crypto.getRandomValues(new Uint8Array(16));
  b[6] = (b[6]! & 0x0f) | 0x40;
  b[8] = (b[8]! & 0x3f) | 0x80;
  const hex = Array.from(b, (x) => x.toString(16).padStart(2, '0')).join('');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}

/** @internal Removes trailing slashes from a base URL. */
export function trimBase(url: string): string {
  return url.replace(/\/+$/, '');
}
