/**
 * Exit codes and the errors that carry them. Every command ends through {@link exitCodeOf}, so the
 * mapping from "what went wrong" to a number lives in one place (README.md lists it).
 */
import { EcgApiError } from '@ecg/sdk';

export const ExitCode = {
  /** The job completed (or the command did what it was asked). */
  ok: 0,
  /** The job failed, or the backend refused the request; the backend's code and message are printed. */
  failed: 1,
  /** Unknown command or option, a missing file, a malformed argument. */
  usage: 2,
  /** No HTTP answer from the backend at all. */
  unreachable: 3,
  /** Interrupted with Ctrl-C (128 + SIGINT), as shells report it. */
  interrupted: 130,
} as const;
export type ExitCode = (typeof ExitCode)[keyof typeof ExitCode];

/** An error the user should read as a sentence, with the exit code it ends the command with. */
export class CliError extends Error {
  override readonly name = 'CliError';
  constructor(
    readonly exitCode: ExitCode,
    message: string,
  ) {
    super(message);
  }
}

const systemCode = (e: unknown): string | undefined =>
  typeof e === 'object' && e !== null && 'code' in e && typeof e.code === 'string' && /^E[A-Z_]+$/.test(e.code) ? e.code : undefined;

/**
 * The root cause of a failed connection in a few words, e.g. `connect ECONNREFUSED 127.0.0.1:9`.
 * fetch hides it under `cause` (an `AggregateError` when both IPv4 and IPv6 were tried), and the
 * SDK wraps that once more.
 */
export function describeCause(err: unknown): string {
  let deepest = err instanceof Error ? err.message : String(err);
  let code: string | undefined;
  for (let e: unknown = err, depth = 0; e && depth < 6; depth++) {
    code ??= systemCode(e);
    if (e instanceof AggregateError) {
      const inner: unknown = e.errors.find((x) => systemCode(x)) ?? e.errors[0];
      code ??= systemCode(inner);
      if (inner instanceof Error) deepest = inner.message;
      break;
    }
    if (e instanceof Error && e !== err && e.message) deepest = e.message;
    e = e instanceof Error ? e.cause : undefined;
  }
  return code && !deepest.includes(code) ? `${code}: ${deepest}` : deepest;
}

/** Whether the error means that no HTTP answer came from the backend. */
export function isUnreachable(err: unknown): boolean {
  if (err instanceof EcgApiError) return err.status === 0 && (err.code === 'NETWORK_ERROR' || err.code === 'TIMEOUT');
  // The raw openapi-fetch client (`api.GET`) lets fetch's own TypeError through.
  return err instanceof TypeError && err.cause !== undefined;
}

/** The message and exit code for any error a command let through. */
export function exitCodeOf(err: unknown, baseUrl: string): { code: ExitCode; message: string } {
  if (err instanceof CliError) return { code: err.exitCode, message: err.message };
  if (isUnreachable(err)) {
    return { code: ExitCode.unreachable, message: `cannot reach the backend at ${baseUrl} (${describeCause(err)})` };
  }
  if (err instanceof EcgApiError) return { code: ExitCode.failed, message: `${err.code}: ${err.message}` };
  return { code: ExitCode.failed, message: err instanceof Error ? err.message : String(err) };
}
