/**
 * The reference ML server: what the ECG backend calls to turn a video into a transcript, built
 * only on the published SDK (`@ecg/sdk/ml-server` for callbacks, `@ecg/sdk/v1.1` and `/v1.0` for
 * the types). It downloads the video for real, so it proves the presigned URLs work, and answers
 * with a deterministic transcript instead of running WhisperX.
 */
import type { AddressInfo } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { serve, type ServerType } from '@hono/node-server';
import { createMlApp } from './app.js';
import type { Behaviour, Logger, ReferenceJob } from './jobs.js';

export type { Behaviour, Logger, ReferenceJob } from './jobs.js';

export interface ReferenceMlServerOptions {
  /** Port to listen on; 0 (the default) picks a free one. */
  port?: number;
  /** Interface to listen on (default `127.0.0.1`). */
  host?: string;
  /** Where logs go; nothing is logged without one. URLs are logged as origins only. */
  logger?: Logger;
  /** Standard Webhooks secret (`whsec_…`) to sign callbacks with; unsigned without one. */
  secret?: string;
  /**
   * The backend's base URL, for v1.0 requests (no `fastapi_base_url`): callbacks then go to
   * `{legacyCallbackBaseUrl}/api/v1/ml/ml-results` (`BACKEND_URL` of the v1.0 ML server).
   */
  legacyCallbackBaseUrl?: string;
  /** Ways to misbehave on purpose, for tests. */
  behaviour?: Behaviour;
  /** Used for downloads and callbacks (default: the global `fetch`). */
  fetch?: typeof fetch;
  /** Jobs processed at once before answering 503 `INSUFFICIENT_RESOURCES` (default 10). */
  maxJobs?: number;
}

export interface ReferenceMlServer {
  /** `http://host:port`, no trailing slash: the backend's `MODEL_SERVER_URL`. */
  url: string;
  port: number;
  /** Stops running jobs (without further callbacks) and the HTTP server. */
  close(): Promise<void>;
  /** Every job this server knows, by `job_id` (for tests: `await jobs.get(id)?.done`). */
  jobs: Map<string, ReferenceJob>;
}

const silent: Logger = { info: () => undefined, warn: () => undefined, error: () => undefined };

/**
 * Starts the reference ML server.
 *
 * @example
 * const ml = await startReferenceMlServer({ port: 0, secret: process.env.WEBHOOK_SECRET });
 * // MODEL_SERVER_URL = ml.url
 * await ml.close();
 */
export async function startReferenceMlServer(opts: ReferenceMlServerOptions = {}): Promise<ReferenceMlServer> {
  const jobs = new Map<string, ReferenceJob>();
  const logger = opts.logger ?? silent;
  const app = createMlApp({
    jobs,
    maxJobs: opts.maxJobs ?? 10,
    keepFinished: 1000,
    logger,
    fetch: opts.fetch ?? globalThis.fetch,
    behaviour: opts.behaviour ?? {},
    secret: opts.secret,
    legacyCallbackBaseUrl: opts.legacyCallbackBaseUrl?.replace(/\/+$/, ''),
  });
  const host = opts.host ?? '127.0.0.1';

  const { server, info } = await new Promise<{ server: ServerType; info: AddressInfo }>((resolve, reject) => {
    const server = serve({ fetch: app.fetch, port: opts.port ?? 0, hostname: host }, (info) => resolve({ server, info }));
    server.once('error', reject);
  });
  const shownHost = host === '0.0.0.0' || host === '::' ? 'localhost' : host.includes(':') ? `[${host}]` : host;
  const url = `http://${shownHost}:${info.port}`;
  logger.info('reference ML server listening', { url });

  let closing: Promise<void> | undefined;
  const close = () =>
    (closing ??= (async () => {
      for (const job of jobs.values()) job.abort.abort();
      // Aborted jobs stop at once, but a callback waiting between SDK retries finishes its wait
      // in the background (it sends nothing more): do not hold close() for it.
      const settled = Promise.allSettled([...jobs.values()].map((j) => j.done));
      await Promise.race([settled, sleep(1000, undefined, { ref: false })]);
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        (server as { closeAllConnections?: () => void }).closeAllConnections?.();
      });
    })());

  return { url, port: info.port, close, jobs };
}
