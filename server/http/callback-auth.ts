/**
 * How an ML callback proves it is genuine (docs/callbacks.md): a Standard Webhooks signature, an
 * `X-Signature-256` HMAC over the raw bytes, the per-job token in the callback URL, or, only when
 * `ALLOW_UNSIGNED_CALLBACKS` is set, nothing. Runs on the raw bytes before anything parses them.
 */
import { createHmac, timingSafeEqual } from 'node:crypto';
import type { MiddlewareHandler } from 'hono';
import { Webhook } from 'standardwebhooks';
import type { Config } from '../config.js';
import type { AppEnv } from '../context.js';
import { looksLikeCallbackToken } from '../domain/callback-token.js';
import { ApiError } from '../errors.js';
import { safeEqual } from './auth.js';
import { hmacDeliveryId } from './replay-guard.js';

/** Standard Webhooks secrets are `whsec_<base64>`; any other string is used as raw key bytes. */
export function webhookVerifier(secret: string): Webhook {
  return secret.startsWith('whsec_') ? new Webhook(secret) : new Webhook(secret, { format: 'raw' });
}

/** The `X-Signature-256` of a body: over text, its UTF-8; over bytes, the bytes as they are. */
export function hmacSignature(secret: string, body: string | Buffer): string {
  const hmac = createHmac('sha256', secret);
  return `sha256=${(typeof body === 'string' ? hmac.update(body, 'utf8') : hmac.update(body)).digest('hex')}`;
}

/** How far a `webhook-timestamp` may be from now, either way (the Standard Webhooks tolerance). */
const TOLERANCE_SECONDS = 5 * 60;

/**
 * A Standard Webhooks check, as the `standardwebhooks` package does it (same key forms, same signed
 * content, same tolerance), but with node:crypto's native HMAC: the package hashes in JavaScript and
 * parses the body a second time, which on a multi-megabyte result costs more than everything else.
 * test/backend/callbacks.test.ts signs with the package and expects this to agree.
 */
export function standardWebhookCheck(secret: string): (body: string | Buffer, id: string, timestamp: string, signatures: string) => boolean {
  const key = secret.startsWith('whsec_') ? Buffer.from(secret.slice('whsec_'.length), 'base64') : Buffer.from(secret, 'latin1');
  return (body, id, timestamp, signatures) => {
    const at = Number.parseInt(timestamp, 10);
    if (id === '' || Number.isNaN(at) || Math.abs(Date.now() / 1000 - at) > TOLERANCE_SECONDS) return false;
    const hmac = createHmac('sha256', key).update(`${id}.${at}.`);
    // Bytes are signed as they are; text as its UTF-8 (the same bytes, when they were valid UTF-8).
    const expected = Buffer.from((typeof body === 'string' ? hmac.update(body, 'utf8') : hmac.update(body)).digest('base64'));
    return signatures.split(' ').some((versioned) => {
      const [version, signature] = versioned.split(',');
      if (version !== 'v1' || signature === undefined) return false;
      const given = Buffer.from(signature);
      return given.length === expected.length && timingSafeEqual(given, expected);
    });
  };
}

/** For the shared callback paths: a signature, an HMAC, or (if allowed) nothing. */
export function signedCallbacks({ secret, allowUnsigned }: Config['webhooks']): MiddlewareHandler<AppEnv> {
  const verify = secret ? standardWebhookCheck(secret) : undefined;
  return async (c, next) => {
    // Signatures are over the bytes as sent, not over their decoding as text (which would drop a
    // byte-order mark and replace bytes that are not UTF-8): the lean listener checks the same bytes.
    const raw = Buffer.from(await c.req.arrayBuffer());
    const signature = c.req.header('webhook-signature');
    const hmac = c.req.header('x-signature-256');
    if (signature !== undefined) {
      if (!verify) throw new ApiError('UNAUTHORIZED', 'Signed callbacks are not configured on this backend.');
      const id = c.req.header('webhook-id') ?? '';
      if (!verify(raw, id, c.req.header('webhook-timestamp') ?? '', signature)) {
        throw new ApiError('UNAUTHORIZED', 'The webhook signature is invalid or too old.');
      }
      c.set('callbackAuth', 'signature');
      c.set('webhookId', id);
    } else if (hmac !== undefined) {
      if (!secret || !safeEqual(hmac.trim().toLowerCase(), hmacSignature(secret, raw))) {
        throw new ApiError('UNAUTHORIZED', 'The X-Signature-256 signature is invalid.');
      }
      c.set('callbackAuth', 'hmac');
      c.set('webhookId', hmacDeliveryId(hmac));
    } else if (allowUnsigned) {
      c.set('callbackAuth', 'unsigned');
    } else {
      throw new ApiError('UNAUTHORIZED', 'Callbacks must be signed, or sent to the callback URL the backend gave the ML server.');
    }
    await next();
  };
}

/** For the per-job callback base: the token in the path names the one job the callback may be about. */
export function tokenCallbacks(jobIdForToken: (token: string) => Promise<string | undefined>): MiddlewareHandler<AppEnv> {
  return async (c, next) => {
    const value = c.req.param('callback_token') ?? '';
    const jobId = looksLikeCallbackToken(value) ? await jobIdForToken(value) : undefined;
    if (!jobId) throw new ApiError('UNAUTHORIZED', 'Unknown callback token.');
    c.set('callbackAuth', 'token');
    c.set('tokenJobId', jobId);
    await next();
  };
}
