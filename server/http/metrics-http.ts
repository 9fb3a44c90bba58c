/**
 * The HTTP side of the metrics: a middleware that times every request by its route template and
 * counts callbacks and open event streams, and `GET /metrics` (Prometheus text format, optionally
 * behind `METRICS_TOKEN`). `/metrics` is not in the OpenAPI documents: it is plain text for
 * Prometheus, described in docs/dispatch.md.
 */
import { timingSafeEqual } from 'node:crypto';
import type { Context, Env, Hono, MiddlewareHandler } from 'hono';
import { routePath } from 'hono/route';
import type { Metrics } from './metrics.js';

/** The callback operations' templates (openapi/v1.1/backend.yaml): `.../result`, `.../ml-results`. */
const CALLBACK_ROUTE = /\/(result|ml-results)$/;

/** The template of the route that answered, or `unmatched` (404s must not add a label per path). */
export function routeTemplate(c: Context): string {
  const path = routePath(c, -1);
  // Only the app-wide middleware matched: no route did.
  return !path || path === '*' || path === '/*' ? 'unmatched' : path;
}

export function callbackOutcome(status: number, ack: string | undefined): string {
  if (status === 200) return ack === 'ignored' ? 'ignored' : 'accepted';
  if (status === 401 || status === 403) return 'unauthorized';
  if (status === 404) return 'not_found';
  if (status >= 500) return 'error';
  return 'invalid';
}

/** Counts the stream as open until its body ends or the client goes away. */
function countedStream(body: ReadableStream<Uint8Array>, metrics: Metrics): ReadableStream<Uint8Array> {
  const reader = body.getReader();
  let open = true;
  const close = () => {
    if (open) metrics.eventStreams.dec();
    open = false;
  };
  metrics.eventStreams.inc();
  return new ReadableStream<Uint8Array>({
    async pull(controller) {
      try {
        const { done, value } = await reader.read();
        if (done) {
          close();
          controller.close();
        } else controller.enqueue(value);
      } catch (err) {
        close();
        controller.error(err);
      }
    },
    async cancel(reason) {
      close();
      await reader.cancel(reason);
    },
  });
}

export function metricsMiddleware(metrics: Metrics): MiddlewareHandler {
  return async (c, next) => {
    const end = metrics.httpDuration.startTimer();
    try {
      await next();
    } finally {
      const route = routeTemplate(c);
      const status = c.res.status;
      end({ method: c.req.method, route, status: String(status) });
      if (c.req.method === 'POST' && CALLBACK_ROUTE.test(route)) {
        let ack: string | undefined;
        if (status === 200) ack = ((await c.res.clone().json().catch(() => ({}))) as { status?: string }).status;
        const auth = (c.get('callbackAuth') as string | undefined) ?? 'none';
        metrics.callbacks.inc({ auth, outcome: callbackOutcome(status, ack) });
      }
      if (c.res.body && c.res.headers.get('content-type')?.startsWith('text/event-stream')) {
        c.res = new Response(countedStream(c.res.body, metrics), c.res);
      }
    }
  };
}

function sameToken(given: string, expected: string): boolean {
  const a = Buffer.from(given);
  const b = Buffer.from(expected);
  return a.length === b.length && timingSafeEqual(a, b);
}

/** `GET /metrics`; with a token, only `Authorization: Bearer <token>` gets the numbers. */
export function registerMetricsRoute<E extends Env>(app: Hono<E>, metrics: Metrics, token: string | undefined): void {
  app.get('/metrics', async (c) => {
    if (token !== undefined) {
      const given = /^Bearer\s+(.+)$/i.exec(c.req.header('authorization') ?? '')?.[1];
      if (!given || !sameToken(given, token)) {
        c.header('WWW-Authenticate', 'Bearer realm="metrics"');
        return c.json({ error: 'UNAUTHORIZED', message: 'GET /metrics needs Authorization: Bearer <METRICS_TOKEN>.' }, 401);
      }
    }
    c.header('Content-Type', metrics.registry.contentType);
    c.header('Cache-Control', 'no-store');
    return c.body(await metrics.registry.metrics());
  });
}
