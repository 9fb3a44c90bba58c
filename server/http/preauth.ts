/**
 * What a callback is checked for before its body is read (docs/callbacks.md, docs/security.md).
 * A body may be 50 MB; reading it before asking whether it could be genuine let anyone make the
 * server buffer 50 MB per request. So, from the headers alone: a per-job token must exist; a
 * Standard Webhooks signature needs its id and a timestamp within the tolerance; an
 * `X-Signature-256` must be well-formed; and a secret must be configured for either. Anything else
 * is answered 401 at once, with `Connection: close`, without reading a byte of the body. The
 * signature itself is verified afterwards, on the raw bytes (server/http/callback-auth.ts).
 */
import type { MiddlewareHandler } from 'hono';
import type { Config } from '../config.js';
import type { AppEnv } from '../context.js';
import { looksLikeCallbackToken } from '../domain/callback-token.js';
import { ApiError } from '../errors.js';

/** The Standard Webhooks tolerance, as the `standardwebhooks` verifier applies it. */
export const SIGNATURE_TOLERANCE_SECONDS = 5 * 60;

const refuse = (message: string) => new ApiError('UNAUTHORIZED', message, {}, { Connection: 'close' });

/** The reason a signed-path callback cannot be genuine, judged by its headers, or null when it may be. */
export function signedHeadersProblem(
  { secret, allowUnsigned }: Config['webhooks'],
  header: (name: string) => string | undefined,
  nowSeconds = Math.floor(Date.now() / 1000),
): string | null {
  const signature = header('webhook-signature');
  const hmac = header('x-signature-256');
  if (signature !== undefined) {
    if (!secret) return 'Signed callbacks are not configured on this backend.';
    const timestamp = header('webhook-timestamp') ?? '';
    if (!header('webhook-id') || !/^[0-9]{1,15}$/.test(timestamp)) return 'A signed callback needs webhook-id and webhook-timestamp.';
    if (Math.abs(nowSeconds - Number(timestamp)) > SIGNATURE_TOLERANCE_SECONDS) return 'The webhook signature is invalid or too old.';
    if (!/(^|\s)v1,[A-Za-z0-9+/=]+/.test(signature)) return 'The webhook signature is invalid or too old.';
    return null;
  }
  if (hmac !== undefined) {
    if (!secret || !/^sha256=[0-9a-f]{64}$/i.test(hmac.trim())) return 'The X-Signature-256 signature is invalid.';
    return null;
  }
  if (allowUnsigned) return null;
  return 'Callbacks must be signed, or sent to the callback URL the backend gave the ML server.';
}

/** For the shared callback paths: refuses, before the body, what no signature check could accept. */
export function preauthSigned(webhooks: Config['webhooks']): MiddlewareHandler<AppEnv> {
  return async (c, next) => {
    const problem = signedHeadersProblem(webhooks, (name) => c.req.header(name));
    if (problem !== null) throw refuse(problem);
    await next();
  };
}

/** For the per-job callback base: an unknown token is refused before the body. */
export function preauthToken(jobIdForToken: (token: string) => Promise<string | undefined>): MiddlewareHandler<AppEnv> {
  return async (c, next) => {
    const value = c.req.param('callback_token') ?? '';
    const jobId = looksLikeCallbackToken(value) ? await jobIdForToken(value) : undefined;
    if (!jobId) throw refuse('Unknown callback token.');
    await next();
  };
}
