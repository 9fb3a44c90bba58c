/**
 * What every route module shares: the app's dependencies, the Hono environment, the per-app context
 * handed to each `register*Routes`, body limits and the one way to answer with an error. `app.ts`
 * imports the routes and this module; the routes import only this module, never `app.ts`.
 */
import type { Context, Hono } from 'hono';
import type { ContentfulStatusCode } from 'hono/utils/http-status';
import type { MlServerClient } from '@ecg/sdk/ml-client';
import type { Config } from './config.js';
import type { DatabaseHandle } from './db/client.js';
import { ApiError, type ErrorBody, loggableError } from './errors.js';
import type { ClientKeyFn } from './http/client-key.js';
import { databaseUnavailable } from './http/db-unavailable.js';
import type { Metrics } from './http/metrics.js';
import type { ProbeState } from './http/probes.js';
import type { RateLimiter } from './http/rate-limit.js';
import type { StreamLimits } from './http/stream-limits.js';
import type { UploadQuota } from './http/upload-quota.js';
import { describeIssues, type Issue } from './http/validation.js';
import type { JobEvents } from './jobs/events.js';
import type { JobStore } from './jobs/store.js';
import type { Logger } from './logger.js';
import type { Storage } from './storage/index.js';

export interface AppDeps {
  config: Config;
  database: DatabaseHandle;
  storage: Storage;
  /** Mounted at /storage when the embedded storage driver is in use. */
  storageRoutes?: Hono | undefined;
  ml: MlServerClient;
  events: JobEvents;
  logger: Logger;
  /** Wakes the dispatcher after a job was stored (optional: the dispatcher also polls). */
  onJobCreated?: (() => void) | undefined;
  /** Shared with the dispatcher (one registry per runtime); the app makes its own when absent. */
  metrics?: Metrics | undefined;
  /** Set to draining on SIGTERM, for /readyz. */
  probeState?: ProbeState | undefined;
}

/** How a callback was authenticated (docs/callbacks.md); also stored with the callback's job event. */
export type CallbackAuth = 'signature' | 'hmac' | 'token' | 'unsigned';

export type AppEnv = {
  Variables: {
    requestId: string;
    /** Set by the callback authentication middleware. */
    callbackAuth?: CallbackAuth;
    webhookId?: string;
    /** The job a per-job callback token belongs to. */
    tokenJobId?: string;
  };
};

/** What each route module receives from `createApp`. */
export interface RouteContext {
  deps: AppDeps;
  jobs: JobStore;
  limiter: RateLimiter;
  streams: StreamLimits;
  uploads: UploadQuota;
  clientKey: ClientKeyFn;
  metrics: Metrics;
  probeState: ProbeState;
}

/** Limits on request bodies: the frontend's JSON is small, ML results can be large (docs/limits.md). */
export const BODY_LIMITS = { json: 1024 * 1024, callback: 50 * 1024 * 1024 } as const;

/** The path as logged: the per-job callback token is a credential, and query strings (signatures) are never included. */
export const loggablePath = (path: string) => path.replace(/^\/api\/ml-callback\/[^/]+/, '/api/ml-callback/[token]');

export function errorResponse(c: Context, err: ApiError): Response {
  for (const [k, v] of Object.entries(err.headers)) c.header(k, v);
  return c.json(err.toBody(), err.status);
}

export function validationError(issues: ReadonlyArray<Issue>): ApiError {
  const details = describeIssues(issues).slice(0, 100);
  const summary = details.slice(0, 3).map((d) => `${d.path}: ${d.message}`).join('; ');
  return new ApiError('VALIDATION_ERROR', `The request is invalid: ${summary}.`, { details });
}

/** Security headers on every answer (docs/security.md). */
export const SECURE_HEADERS = { crossOriginResourcePolicy: false, strictTransportSecurity: false, xFrameOptions: 'DENY' } as const;

export function corsOptions(config: Pick<AppDeps['config'], 'corsOrigins'>) {
  return {
    origin: config.corsOrigins.length > 0 ? config.corsOrigins : '*',
    allowMethods: ['GET', 'HEAD', 'PUT', 'POST', 'DELETE', 'OPTIONS'],
    allowHeaders: ['Content-Type', 'Authorization', 'Idempotency-Key', 'If-None-Match', 'Range', 'X-Request-Id'],
    exposeHeaders: ['ETag', 'Retry-After', 'X-Request-Id', 'Content-Range'],
    maxAge: 600,
  };
}

/**
 * What an error thrown below a route is answered with: its envelope, a 503 while the database is away,
 * or a 500 that says nothing of internals (and is logged with what may be logged).
 */
export function errorAnswer(err: unknown, logger: Logger, requestId: string, path: string): { status: ContentfulStatusCode; body: ErrorBody; headers: Record<string, string> } {
  if (err instanceof ApiError) return { status: err.status, body: err.toBody(), headers: err.headers };
  const away = databaseUnavailable(err);
  if (away) {
    logger.warn('database unavailable', { request_id: requestId, path: loggablePath(path), error: loggableError(err) });
    return { status: away.status, body: away.toBody(), headers: away.headers };
  }
  logger.error('unhandled error', { request_id: requestId, path: loggablePath(path), error: loggableError(err) });
  return { status: 500, body: { error: 'INTERNAL_ERROR', message: 'Something went wrong on our side.' }, headers: {} };
}

