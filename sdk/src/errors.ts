import type { components } from './generated/v1.1/backend.js';

/**
 * The backend's one error envelope: `{ error: <CODE>, message, details?, retry_after? }`.
 *
 * @example
 * ```ts
 * import { EcgApiError, type ApiErrorBody } from '@ecg/sdk';
 * function show(err: unknown) {
 *   if (err instanceof EcgApiError && err.body) {
 *     const body: ApiErrorBody = err.body;
 *     console.log(body.error, body.message, body.details);
 *   }
 * }
 * ```
 */
export type ApiErrorBody = components['schemas']['Error'];

/**
 * The documented, stable error codes of the backend (`ApiErrorBody['error']`).
 *
 * @example
 * ```ts
 * import type { ApiErrorCode } from '@ecg/sdk';
 * const retryable: ApiErrorCode[] = ['RATE_LIMITED', 'SERVICE_UNAVAILABLE'];
 * ```
 */
export type ApiErrorCode = components['schemas']['ErrorCode'];

/**
 * Codes the SDK itself uses when there is no error envelope to read:
 * `HTTP_ERROR` (a non-2xx answer without the envelope), `UPLOAD_FAILED` (the storage PUT did not
 * answer 200), `INVALID_RESPONSE` (a success that is not the expected JSON), `NETWORK_ERROR`
 * (no HTTP answer at all), `TIMEOUT` (no answer in time).
 *
 * @example
 * ```ts
 * import { EcgApiError } from '@ecg/sdk';
 * const isNetwork = (e: unknown) => e instanceof EcgApiError && e.code === 'NETWORK_ERROR';
 * ```
 */
export type SdkErrorCode = 'HTTP_ERROR' | 'UPLOAD_FAILED' | 'INVALID_RESPONSE' | 'NETWORK_ERROR' | 'TIMEOUT';

/**
 * The error every SDK call rejects with when the other side answered with a failure (or, for the
 * callback client, did not answer at all). `code` is the envelope's `error` when there was one
 * (future backends may add codes, hence the open string), else an {@link SdkErrorCode}.
 * `status` is the HTTP status, `0` when there was no HTTP answer. `body` is the envelope when the
 * server sent one. `retryAfterMs` comes from `Retry-After` (or the envelope's `retry_after`).
 * `requestId` is the backend's `X-Request-Id` (the id its logs carry: quote it when reporting a
 * problem). `method` and `url` name the request that failed; the URL never carries its query
 * string (presigned URLs keep their signature there) or credentials.
 *
 * @example
 * ```ts
 * import { createBackendClient, EcgApiError } from '@ecg/sdk';
 * const ecg = createBackendClient({ baseUrl: 'https://ecg.example.com' });
 * try {
 *   await ecg.getStatus('550e8400-e29b-41d4-a716-446655440000');
 * } catch (err) {
 *   if (err instanceof EcgApiError && err.code === 'JOB_NOT_FOUND') console.log('no such job');
 *   else throw err;
 * }
 * ```
 */
export class EcgApiError extends Error {
  override readonly name: string = 'EcgApiError';
  /** The HTTP status; `0` when no HTTP answer came. */
  readonly status: number;
  /** The envelope's `error`, or an SDK code. */
  readonly code: ApiErrorCode | SdkErrorCode | (string & {});
  /** The error envelope, when the server sent one. */
  readonly body: ApiErrorBody | undefined;
  /** How long the server asked us to wait, in milliseconds, when it said. */
  readonly retryAfterMs: number | undefined;
  /** The answer's `X-Request-Id`, when there was an answer that carried one. */
  readonly requestId: string | undefined;
  /** The HTTP method of the failed request, when known. */
  readonly method: string | undefined;
  /** The URL of the failed request without its query string, when known. */
  readonly url: string | undefined;

  constructor(init: {
    status: number;
    code: ApiErrorCode | SdkErrorCode | (string & {});
    message: string;
    body?: ApiErrorBody | undefined;
    retryAfterMs?: number | undefined;
    requestId?: string | undefined;
    method?: string | undefined;
    url?: string | undefined;
    cause?: unknown;
  }) {
    super(init.message, init.cause === undefined ? undefined : { cause: init.cause });
    this.status = init.status;
    this.code = init.code;
    this.body = init.body;
    this.retryAfterMs = init.retryAfterMs;
    this.requestId = init.requestId;
    this.method = init.method;
    this.url = init.url;
  }
}

/** @internal A URL fit for an error message: no query string (signatures), no fragment, no credentials. */
export function redactUrl(url: string): string {
  try {
    const u = new URL(url);
    u.search = '';
    u.hash = '';
    u.username = '';
    u.password = '';
    return u.href;
  } catch {
    return url.split(/[?#]/)[0] ?? '';
  }
}

/** @internal Whether a value has the shape of the error envelope. */
export function isErrorBody(value: unknown): value is ApiErrorBody {
  if (typeof value !== 'object' || value === null) return false;
  const v = value as Record<string, unknown>;
  return typeof v['error'] === 'string' && typeof v['message'] === 'string';
}

/** @internal `Retry-After` (seconds or an HTTP date) in milliseconds. */
export function parseRetryAfter(header: string | null | undefined, now: number = Date.now()): number | undefined {
  if (!header) return undefined;
  const trimmed = header.trim();
  if (/^\d+(\.\d+)?$/.test(trimmed)) return Math.round(Number(trimmed) * 1000);
  const date = Date.parse(trimmed);
  return Number.isNaN(date) ? undefined : Math.max(0, date - now);
}

/**
 * @internal An {@link EcgApiError} for a non-2xx answer whose body has been read (parsed JSON or
 * text); `request` names the method and URL when given.
 */
export function errorFromResponse(response: Response, payload: unknown, request?: { method: string; url: string }): EcgApiError {
  const envelope = isErrorBody(payload) ? payload : undefined;
  const retryAfterMs =
    parseRetryAfter(response.headers.get('Retry-After')) ??
    (typeof envelope?.retry_after === 'number' ? envelope.retry_after * 1000 : undefined);
  return new EcgApiError({
    status: response.status,
    code: envelope?.error ?? 'HTTP_ERROR',
    message: envelope?.message ?? `HTTP ${response.status}${response.statusText ? ` ${response.statusText}` : ''}`,
    body: envelope,
    retryAfterMs,
    requestId: response.headers.get('X-Request-Id') ?? undefined,
    method: request?.method,
    url: request ? redactUrl(request.url) : undefined,
  });
}

/** @internal An error answer's body: parsed JSON, else the text. */
export async function readPayload(response: Response): Promise<unknown> {
  const text = await response.text().catch(() => '');
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return text;
  }
}
