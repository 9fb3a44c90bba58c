/**
 * A database that cannot be reached (restarting, failing over, refusing connections) is a passing
 * condition, not a bug: requests answer 503 SERVICE_UNAVAILABLE with Retry-After instead of 500, for
 * as long as it lasts (docs/limits.md, "Database outages"). A pool closed on purpose (shutdown) is
 * not one of these.
 */
import { ApiError } from '../errors.js';

/** postgres.js and Node error codes of a database that is away; PostgreSQL's admin_shutdown, crash_shutdown, cannot_connect_now. */
const AWAY = new Set(['ECONNREFUSED', 'ECONNRESET', 'EPIPE', 'ETIMEDOUT', 'CONNECT_TIMEOUT', 'CONNECTION_CLOSED', 'CONNECTION_DESTROYED', '57P01', '57P02', '57P03']);

function codesOf(err: unknown, depth = 0): string[] {
  if (!err || typeof err !== 'object' || depth > 4) return [];
  const e = err as { code?: unknown; cause?: unknown; errors?: unknown };
  return [
    ...(typeof e.code === 'string' ? [e.code] : []),
    ...codesOf(e.cause, depth + 1),
    ...(Array.isArray(e.errors) ? e.errors.flatMap((x) => codesOf(x, depth + 1)) : []),
  ];
}

export const DATABASE_RETRY_AFTER_SECONDS = 5;

/** The 503 to answer instead of `err`, or undefined when `err` is not the database being away. */
export function databaseUnavailable(err: unknown): ApiError | undefined {
  if (!codesOf(err).some((c) => AWAY.has(c))) return undefined;
  return new ApiError(
    'SERVICE_UNAVAILABLE',
    `The database is not reachable at the moment; try again in ${DATABASE_RETRY_AFTER_SECONDS} seconds.`,
    { retry_after: DATABASE_RETRY_AFTER_SECONDS },
    { 'Retry-After': String(DATABASE_RETRY_AFTER_SECONDS) },
  );
}
