/**
 * What every route module shares: the app's dependencies, the Hono environment, the per-app context
 * handed to each `register*Routes`, body limits and the one way to answer with an error. `app.ts`
 * imports the routes and this module; the routes import only this module, never `app.ts`.
 */
import type { Context, Hono } from 'hono';
import type { MlServerClient } from '@ecg/sdk/ml-client';
import type { Config } from './config.js';
import type { DatabaseHandle } from './db/client.js';
import { ApiError } from './errors.js';
import type { ClientKeyFn } from './http/client-key.js';
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
