/**
 * receiveMlResult, receiveLegacyMlResult and their per-job-token twins: the ML callback on both
 * versions' paths and under the per-job callback base (docs/callbacks.md). A valid callback is always
 * answered 200, `received` or `ignored`.
 */
import type { OpenAPIHono } from '@hono/zod-openapi';
import type { Context } from 'hono';
import type { AppDeps, AppEnv, CallbackAuth, RouteContext } from '../context.js';
import { receiveCallback } from '../domain/jobs.js';
import type * as v11 from '../generated/v1.1/routes.js';
import { signedCallbacks, tokenCallbacks } from '../http/callback-auth.js';
import type { ScannedResult } from '../jobs/callback-body.js';
import type { JobStore } from '../jobs/store.js';

export function registerCallbackRoutes(api: OpenAPIHono<AppEnv>, r: typeof v11, { deps, jobs }: RouteContext) {
  const signed = signedCallbacks(deps.config.webhooks);
  const token = tokenCallbacks((token) => jobs.jobIdForCallbackToken(token));
  for (const route of [r.receiveMlResult, r.receiveLegacyMlResult]) api.use(route.path, signed);
  for (const route of [r.receiveMlResultWithToken, r.receiveLegacyMlResultWithToken]) {
    api.use(route.path.replace(/\{([^}]+)\}/g, ':$1'), token);
  }

  const receiveLogged = callbackReceiver(deps, jobs);
  const receive = (body: v11.MlCallback, c: Context<AppEnv>) =>
    receiveLogged(body, { via: c.get('callbackAuth') ?? 'unsigned', tokenJobId: c.get('tokenJobId'), webhookId: c.get('webhookId'), requestId: c.get('requestId') });

  api.openapi(r.receiveMlResult, async (c) => c.json(await receive(c.req.valid('json'), c), 200));
  api.openapi(r.receiveLegacyMlResult, async (c) => c.json(await receive(c.req.valid('json'), c), 200));
  api.openapi(r.receiveMlResultWithToken, async (c) => c.json(await receive(c.req.valid('json'), c), 200));
  api.openapi(r.receiveLegacyMlResultWithToken, async (c) => c.json(await receive(c.req.valid('json'), c), 200));
}

/** Applies a callback and logs it; shared with the lean request listener (server/http/hot-paths.ts). */
export function callbackReceiver(deps: Pick<AppDeps, 'logger'>, jobs: JobStore) {
  return async (body: v11.MlCallback, auth: { via: CallbackAuth; tokenJobId?: string | undefined; webhookId?: string | undefined; requestId: string }, scannedResult?: ScannedResult) => {
    const ack = await receiveCallback({ jobs }, body, auth, scannedResult);
    deps.logger.info('callback', { request_id: auth.requestId, job_id: body.job_id, reported: body.status, ack: ack.status, reason: ack.reason, auth: auth.via });
    return ack;
  };
}
