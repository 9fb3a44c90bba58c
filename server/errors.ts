import type { ContentfulStatusCode } from 'hono/utils/http-status';

/**
 * Every error code the backend can answer with, and its HTTP status.
 * One table, so a code always maps to the same status (the `ErrorCode` schema of the specs in `openapi/`).
 */
export const ERROR_STATUS = {
  VALIDATION_ERROR: 422,
  EMPTY_FILE: 422,
  INVALID_JSON: 400,
  UNAUTHORIZED: 401,
  FORBIDDEN: 403,
  NOT_FOUND: 404,
  JOB_NOT_FOUND: 404,
  FILE_NOT_FOUND: 404,
  METHOD_NOT_ALLOWED: 405,
  JOB_NOT_CANCELLABLE: 409,
  CONFLICT: 409,
  PAYLOAD_TOO_LARGE: 413,
  UNSUPPORTED_MEDIA_TYPE: 415,
  RANGE_NOT_SATISFIABLE: 416,
  RATE_LIMITED: 429,
  INTERNAL_ERROR: 500,
  SERVICE_UNAVAILABLE: 503,
  INSUFFICIENT_STORAGE: 507,
} as const satisfies Record<string, ContentfulStatusCode>;

export type ErrorCode = keyof typeof ERROR_STATUS;

/** The one error envelope: `{ error: CODE, message, ...details }`. */
export interface ErrorBody {
  error: ErrorCode;
  message: string;
  [detail: string]: unknown;
}

/**
 * The one error class. Throw it anywhere below a route; the app's error handler turns it into the envelope.
 *
 * @example
 * throw new ApiError('JOB_NOT_FOUND', `No job with id ${id}.`);
 */
export class ApiError extends Error {
  readonly code: ErrorCode;
  readonly status: (typeof ERROR_STATUS)[ErrorCode];
  readonly details: Record<string, unknown>;
  readonly headers: Record<string, string>;

  constructor(code: ErrorCode, message: string, details: Record<string, unknown> = {}, headers: Record<string, string> = {}) {
    super(message);
    this.name = 'ApiError';
    this.code = code;
    this.status = ERROR_STATUS[code];
    this.details = details;
    this.headers = headers;
  }

  toBody(): ErrorBody {
    return { ...this.details, error: this.code, message: this.message };
  }
}

/**
 * What of an unexpected error goes to the logs: its name and codes, never its message. A failed
 * Drizzle query's message holds every parameter of the query (a callback token, a whole transcript);
 * the PostgreSQL error under it carries the SQLSTATE and the constraint, which is what an operator
 * needs (docs/security.md).
 */
export function loggableError(err: unknown): Record<string, string> {
  const out: Record<string, string> = {};
  let e: unknown = err;
  for (let depth = 0; depth < 5 && e !== null && typeof e === 'object'; depth += 1) {
    const o = e as { name?: unknown; code?: unknown; constraint_name?: unknown; constraint?: unknown; cause?: unknown };
    if (depth === 0) out.name = typeof o.name === 'string' ? o.name : 'Error';
    else if (typeof o.name === 'string') out.cause = o.name;
    if (typeof o.code === 'string' && out.code === undefined) out.code = o.code;
    const constraint = o.constraint_name ?? o.constraint;
    if (typeof constraint === 'string' && out.constraint === undefined) out.constraint = constraint;
    e = o.cause;
  }
  if (out.name === undefined) out.name = typeof err;
  return out;
}
