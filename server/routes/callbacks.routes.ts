/**
 * The ML callback routes, on both versions' paths and under the per-job callback base
 * (CONTRACT.md, "Callbacks" and "Security, decided"). Authentication runs on the raw bytes before
 * anything parses them; a valid callback is always answered 200 (`received` or `ignored`).
 */
import { createHmac } from 'node:crypto';
import type { OpenAPIHono } from '@hono/zod-openapi';
import type { MiddlewareHandler } from 'hono';
import { Webhook } from 'standardwebhooks';
import type { AppEnv, RouteContext } from '../app.js';
import { ApiError } from '../errors.js';
import type * as v11 from '../generated/v1.1/routes.js';
import { safeEqual } from '../http/auth.js';

/** Standard Webhooks secrets are `whsec_<base64>`; any other string is used as raw key bytes. */
export function webhookVerifier(secret: string): Webhook {
  return secret.startsWith('whsec_') ? new Webhook(secret) : new Webhook(secret, { format: 'raw' });
}

export function hmacSignature(secret: string, body: string): string {
  return `sha256=${createHmac('sha256', secret).update(body, 'utf8').digest('hex')}`;
}

export function registerCallbackRoutes(api: OpenAPIHono<AppEnv>, r: typeof v11, { deps, jobs }: RouteContext) {
  const { secret, allowUnsigned } = deps.config.webhooks;
  const verifier = secret ? webhookVerifier(secret) : undefined;

  const signed: MiddlewareHandler<AppEnv> = async (c, next) => {
    const raw = await c.req.text();
    const signature = c.req.header('webhook-signature');
    const hmac = c.req.header('x-signature-256');
    if (signature !== undefined) {
      if (!verifier) throw new ApiError('UNAUTHORIZED', 'Signed callbacks are not configured on this backend.');
      const id = c.req.header('webhook-id') ?? '';
      try {
        // Checks the signature and the ±5 minute timestamp tolerance.
        verifier.verify(raw, { 'webhook-id': id, 'webhook-timestamp': c.req.header('webhook-timestamp') ?? '', 'webhook-signature': signature });
      } catch {
        throw new ApiError('UNAUTHORIZED', 'The webhook signature is invalid or too old.');
      }
      c.set('callbackAuth', 'signature');
      c.set('webhookId', id);
    } else if (hmac !== undefined) {
      if (!secret || !safeEqual(hmac.trim().toLowerCase(), hmacSignature(secret, raw))) {
        throw new ApiError('UNAUTHORIZED', 'The X-Signature-256 signature is invalid.');
      }
      c.set('callbackAuth', 'hmac');
    } else if (allowUnsigned) {
      c.set('callbackAuth', 'unsigned');
    } else {
      throw new ApiError('UNAUTHORIZED', 'Callbacks must be signed, or sent to the callback URL the backend gave the ML server.');
    }
    await next();
  };

  const token: MiddlewareHandler<AppEnv> = async (c, next) => {
    const value = c.req.param('callback_token') ?? '';
    const jobId = /^[A-Za-z0-9_-]{16,128}$/.test(value) ? await jobs.jobIdForCallbackToken(value) : undefined;
    if (!jobId) throw new ApiError('UNAUTHORIZED', 'Unknown callback token.');
    c.set('callbackAuth', 'token');
    c.set('tokenJobId', jobId);
    await next();
  };

  for (const route of [r.receiveMlResult, r.receiveLegacyMlResult]) {
    api.use(route.path, signed);
  }
  for (const route of [r.receiveMlResultWithToken, r.receiveLegacyMlResultWithToken]) {
    api.use(route.path.replace(/\{([^}]+)\}/g, ':$1'), token);
  }

  const receive = async (body: v11.MlCallback, c: { get: <K extends keyof AppEnv['Variables']>(k: K) => AppEnv['Variables'][K] }) => {
    const tokenJob = c.get('tokenJobId');
    if (tokenJob !== undefined && tokenJob !== body.job_id) throw new ApiError('UNAUTHORIZED', 'The callback token does not belong to this job.');
    const ack = await jobs.applyCallback(body, c.get('callbackAuth') ?? 'unsigned', c.get('webhookId'));
    deps.logger.info('callback', { request_id: c.get('requestId'), job_id: body.job_id, reported: body.status, ack: ack.status, reason: ack.reason, auth: c.get('callbackAuth') });
    return ack;
  };

  api.openapi(r.receiveMlResult, async (c) => c.json(await receive(c.req.valid('json'), c), 200));
  api.openapi(r.receiveLegacyMlResult, async (c) => c.json(await receive(c.req.valid('json'), c), 200));
  api.openapi(r.receiveMlResultWithToken, async (c) => c.json(await receive(c.req.valid('json'), c), 200));
  api.openapi(r.receiveLegacyMlResultWithToken, async (c) => c.json(await receive(c.req.valid('json'), c), 200));
}
