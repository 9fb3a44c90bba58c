/** getHealth and getMlServerHealth. */
import type { OpenAPIHono } from '@hono/zod-openapi';
import { sql } from 'drizzle-orm';
import type { AppEnv, RouteContext } from '../context.js';
import type * as v11 from '../generated/v1.1/routes.js';

async function timed(check: () => Promise<unknown>, timeoutMs = 5000): Promise<{ status: 'up' | 'down'; latency_ms: number }> {
  const started = performance.now();
  try {
    await Promise.race([
      check(),
      new Promise((_, reject) => setTimeout(() => reject(new Error('timeout')), timeoutMs).unref()),
    ]);
    return { status: 'up', latency_ms: Math.round((performance.now() - started) * 100) / 100 };
  } catch {
    return { status: 'down', latency_ms: Math.round((performance.now() - started) * 100) / 100 };
  }
}

export function registerOpsRoutes(api: OpenAPIHono<AppEnv>, r: typeof v11, { deps }: RouteContext) {
  api.openapi(r.getHealth, async (c) => {
    const [database, storage] = await Promise.all([
      timed(() => deps.database.db.execute(sql`select 1`)),
      timed(() => deps.storage.ready()),
    ]);
    const ok = database.status === 'up' && storage.status === 'up';
    const body = { status: ok ? ('ok' as const) : ('unavailable' as const), version: r.specVersion, checks: { database, storage } };
    return ok ? c.json(body, 200) : c.json(body, 503);
  });

  api.openapi(r.getMlServerHealth, async (c) => c.json(await deps.ml.health(), 200));
}
