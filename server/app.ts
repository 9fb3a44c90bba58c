/**
 * `createApp(deps)`: the whole HTTP surface. It receives configuration, database, storage and the ML
 * client as arguments and keeps no module-level state, so tests build as many apps as they like.
 */
import { OpenAPIHono } from '@hono/zod-openapi';
import { bodyLimit } from 'hono/body-limit';
import { cors } from 'hono/cors';
import { HTTPException } from 'hono/http-exception';
import { requestId } from 'hono/request-id';
import { secureHeaders } from 'hono/secure-headers';
import { type AppDeps, type AppEnv, BODY_LIMITS, corsOptions, errorAnswer, errorResponse, loggablePath, type RouteContext, SECURE_HEADERS, validationError } from './context.js';
import { ApiError } from './errors.js';
import * as v11 from './generated/v1.1/routes.js';
import { createClientKey } from './http/client-key.js';
import { registerDocs } from './http/docs.js';
import { docsCsp } from './http/docs-csp.js';
import { createHotPaths } from './http/hot-paths.js';
import { createMetrics } from './http/metrics.js';
import { metricsMiddleware, registerMetricsRoute } from './http/metrics-http.js';
import { preauthSigned, preauthToken } from './http/preauth.js';
import { createRateLimiter } from './http/rate-limit.js';
import { scrapeSources } from './http/scrape-sources.js';
import { createStreamLimits } from './http/stream-limits.js';
import { createUploadQuota } from './http/upload-quota.js';
import { createJobStore } from './jobs/store.js';
import { registerCallbackRoutes } from './routes/callbacks.routes.js';
import { registerJobRoutes } from './routes/jobs.routes.js';
import { registerOpsRoutes } from './routes/ops.routes.js';
import { playgroundRoutes } from './routes/playground.routes.js';
import { registerUploadRoutes } from './routes/upload.routes.js';
import { registerVideoRoutes } from './routes/video.routes.js';

/**
 * The routes of one spec version, with validation failures turned into the error envelope.
 * Version 1.1 is a superset of 1.0, so the served app is the 1.1 one; test/contract/app-document.test.ts
 * proves it serves every operation of both versions' documents.
 */
function createVersionApp() {
  return new OpenAPIHono<AppEnv>({
    defaultHook: (result) => {
      if (!result.success) throw validationError(result.error.issues);
    },
  });
}

export function createApp(deps: AppDeps) {
  const { config } = deps;
  const app = new OpenAPIHono<AppEnv>();
  const metrics = deps.metrics ?? createMetrics(scrapeSources(deps.database, config.databasePoolSize));
  const ctx: RouteContext = {
    deps,
    jobs: createJobStore(deps.database.db, deps.events.versions, { onNotifyError: (err) => deps.logger.warn('job notification not sent', { error: String(err) }) }),
    limiter: createRateLimiter(deps.database.db, config.rateLimitPerMinute),
    clientKey: createClientKey(config.ops.trustedProxies),
    metrics,
    probeState: deps.probeState ?? { draining: false },
    streams: createStreamLimits(config.streams),
    uploads: createUploadQuota(config.uploads),
  };

  app.use(requestId({ limitLength: 100 }));
  app.use(metricsMiddleware(metrics));
  // nosniff and friends on every answer (docs/security.md). Not Cross-Origin-Resource-Policy: the
  // frontend plays stored videos from another origin. Not HSTS: TLS is the proxy's to declare.
  app.use(secureHeaders(SECURE_HEADERS));
  app.use(async (c, next) => {
    const started = performance.now();
    await next();
    // Path only: query strings carry URL signatures, which never go to the logs.
    deps.logger.info('request', {
      request_id: c.get('requestId'),
      method: c.req.method,
      path: loggablePath(c.req.path),
      status: c.res.status,
      ms: Math.round((performance.now() - started) * 10) / 10,
    });
  });
  app.use(cors(corsOptions(config)));

  // JSON bodies: the right content type and a size cap before anything parses them. A callback is
  // first checked for what can be authenticated without its body (server/http/preauth.ts).
  const signedPreauth = preauthSigned(config.webhooks);
  const tokenPreauth = preauthToken((token) => ctx.jobs.jobIdForCallbackToken(token));
  for (const op of v11.operations) {
    if (!op.jsonBody) continue;
    const path = op.path.replace(/\{([^}]+)\}/g, ':$1');
    const callback = op.operationId.startsWith('receive');
    const maxSize = callback ? BODY_LIMITS.callback : BODY_LIMITS.json;
    if (callback) app.on(op.method.toUpperCase(), path, op.path.includes('{callback_token}') ? tokenPreauth : signedPreauth);
    app.on(op.method.toUpperCase(), path, async (c, next) => {
      const type = c.req.header('content-type') ?? '';
      if (!/^application\/([a-z.+-]+\+)?json\s*(;|$)/i.test(type)) {
        throw new ApiError('UNSUPPORTED_MEDIA_TYPE', 'The request body must be application/json.');
      }
      await next();
    });
    app.on(
      op.method.toUpperCase(),
      path,
      bodyLimit({
        maxSize,
        onError: () => {
          throw new ApiError('PAYLOAD_TOO_LARGE', `The request body is larger than ${maxSize} bytes.`);
        },
      }),
    );
  }

  const api = createVersionApp();
  registerUploadRoutes(api, v11, ctx);
  registerJobRoutes(api, v11, ctx);
  registerOpsRoutes(api, v11, ctx);
  registerCallbackRoutes(api, v11, ctx);
  registerVideoRoutes(api, v11, ctx);
  app.route('/', api);

  if (deps.storageRoutes) app.route('/storage', deps.storageRoutes);
  registerMetricsRoute(app, metrics, config.ops.metricsToken);

  app.use('/docs', docsCsp());
  registerDocs(app, config.publicBaseUrl);

  app.route('/', playgroundRoutes());

  app.notFound(() => {
    throw new ApiError('NOT_FOUND', 'No such route.');
  });
  app.onError((err, c) => {
    if (err instanceof HTTPException) {
      // Hono's validators throw 400 for a body that is not JSON.
      if (err.status === 400) return errorResponse(c, new ApiError('INVALID_JSON', 'The request body is not valid JSON.'));
      if (err.status === 413) return errorResponse(c, new ApiError('PAYLOAD_TOO_LARGE', 'The request body is too large.'));
    }
    const answer = errorAnswer(err, deps.logger, c.get('requestId'), c.req.path);
    for (const [k, v] of Object.entries(answer.headers)) c.header(k, v);
    return c.json(answer.body, answer.status);
  });

  // The status poll and the signed callback, answered without Hono's layers (server/http/hot-paths.ts).
  return Object.assign(app, { hotPaths: createHotPaths(ctx) });
}
