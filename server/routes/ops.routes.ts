/** getHealth, getLiveness, getReadiness and getMlServerHealth (openapi/v1.1/backend.yaml, operations). */
import type { OpenAPIHono } from '@hono/zod-openapi';
import { sql } from 'drizzle-orm';
import type { AppEnv, RouteContext } from '../context.js';
import type * as v11 from '../generated/v1.1/routes.js';
import { readiness, timed } from '../http/probes.js';

export function registerOpsRoutes(api: OpenAPIHono<AppEnv>, r: typeof v11, { deps, probeState }: RouteContext) {
  const { ops } = deps.config;
  // Made-up transcripts must be impossible to miss (README, configuration).
  const mlServer = ops.referenceMlServer
    ? { reference: true, name: 'reference ML server (examples/ml-server): made-up transcripts; set MODEL_SERVER_URL' }
    : { reference: false };

  api.openapi(r.getHealth, async (c) => {
    const [database, storage] = await Promise.all([
      timed(() => deps.database.db.execute(sql`select 1`)),
      timed(() => deps.storage.ready()),
    ]);
    const ok = database.status === 'up' && storage.status === 'up';
    const body = { status: ok ? ('ok' as const) : ('unavailable' as const), version: r.specVersion, checks: { database, storage }, ml_server: mlServer };
    return ok ? c.json(body, 200) : c.json(body, 503);
  });

  api.openapi(r.getLiveness, (c) => c.json({ status: 'ok' as const }, 200));

  api.openapi(r.getReadiness, async (c) => {
    const body = await readiness({ db: deps.database.db, storage: deps.storage, state: probeState });
    c.header('Cache-Control', 'no-store');
    return body.status === 'ready' ? c.json(body, 200) : c.json(body, 503);
  });

  api.openapi(r.getMlServerHealth, async (c) => c.json(await deps.ml.health(), 200));
}
