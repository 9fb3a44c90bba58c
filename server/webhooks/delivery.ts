/**
 * Delivers consumer webhooks (docs/webhooks.md): claims due `webhook_outbox` rows, POSTs each
 * payload signed with Standard Webhooks (the same `webhook-id` on every attempt, a fresh timestamp
 * and signature), records every attempt, and retries with capped exponential backoff until
 * `WEBHOOK_GIVE_UP_AFTER`. Everything it knows is in the table, so it survives restarts, and any
 * number of backend processes may run it at once.
 */
import { request as httpRequest } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { Webhook } from 'standardwebhooks';
import type { Config } from '../config.js';
import type { Sql } from '../db/client.js';
import { loggableError } from '../errors.js';
import type { Metrics } from '../http/metrics.js';
import { claimLoop } from '../jobs/claim-loop.js';
import type { Logger } from '../logger.js';
import { assertConnectable, BlockedAddressError, publicOnlyLookup } from './address-policy.js';
import { type AttemptOutcome, type ClaimedDelivery, createOutbox } from './outbox.js';

/**
 * The wait after the `attempt`-th failed attempt: `base · 2^(attempt-1)`, capped at `max`, then
 * shortened by up to a fifth at random so that receivers coming back are not hit by every retry at once.
 */
export function backoffMs(attempt: number, opts: { baseMs: number; maxMs: number }, random: () => number = Math.random): number {
  const exp = Math.min(opts.maxMs, opts.baseMs * 2 ** Math.max(0, Math.min(attempt - 1, 40)));
  return Math.round(exp * (1 - 0.2 * random()));
}

/** `Retry-After` as milliseconds (seconds or an HTTP date), or 0. */
function retryAfterMs(value: string | string[] | undefined): number {
  const v = Array.isArray(value) ? value[0] : value;
  if (!v) return 0;
  if (/^\d+$/.test(v.trim())) return Number(v.trim()) * 1000;
  const at = Date.parse(v);
  return Number.isNaN(at) ? 0 : Math.max(0, at - Date.now());
}

/** The receiver's answer to one POST, or why there was none. */
export interface PostResult {
  statusCode: number | null;
  error: string | null;
  retryAfterMs: number;
  durationMs: number;
}

/** How much of a receiver's answer is read (and dropped) before the connection is closed. */
const MAX_ANSWER_BYTES = 64 * 1024;

/**
 * POSTs `body` to `url` with node:http(s), without following redirects, within `timeoutMs` in all.
 * Unless `allowPrivate`, a literal non-public address is refused before connecting and a name is
 * resolved through `publicOnlyLookup`, which refuses non-public addresses at connection time.
 */
export function postWebhook(url: string, body: string, headers: Record<string, string>, opts: { timeoutMs: number; allowPrivate: boolean; signal?: AbortSignal }): Promise<PostResult> {
  const started = performance.now();
  const done = (r: Omit<PostResult, 'durationMs'>): PostResult => ({ ...r, durationMs: performance.now() - started });
  return new Promise((resolve) => {
    let target: URL;
    try {
      target = new URL(url);
      if (!opts.allowPrivate) assertConnectable(target);
    } catch (err) {
      return resolve(done({ statusCode: null, error: err instanceof BlockedAddressError ? `address not allowed: ${err.message}` : 'invalid URL', retryAfterMs: 0 }));
    }
    const send = target.protocol === 'https:' ? httpsRequest : httpRequest;
    let settled = false;
    const finish = (r: Omit<PostResult, 'durationMs'>) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      opts.signal?.removeEventListener('abort', onAbort);
      resolve(done(r));
    };
    const req = send(target, {
      method: 'POST',
      agent: false,
      headers: { 'content-type': 'application/json', 'content-length': String(Buffer.byteLength(body)), 'user-agent': 'ecg-backend-webhooks/1', ...headers },
      ...(opts.allowPrivate ? {} : { lookup: publicOnlyLookup }),
    });
    const timer = setTimeout(() => {
      finish({ statusCode: null, error: `timeout after ${opts.timeoutMs} ms`, retryAfterMs: 0 });
      req.destroy();
    }, opts.timeoutMs);
    const onAbort = () => {
      finish({ statusCode: null, error: 'aborted', retryAfterMs: 0 });
      req.destroy();
    };
    opts.signal?.addEventListener('abort', onAbort, { once: true });
    req.on('response', (res) => {
      const statusCode = res.statusCode ?? 0;
      const retryAfter = statusCode === 429 || statusCode === 503 ? retryAfterMs(res.headers['retry-after']) : 0;
      let read = 0;
      res.on('data', (chunk: Buffer) => {
        read += chunk.length;
        if (read > MAX_ANSWER_BYTES) res.destroy();
      });
      res.on('error', () => {});
      // The status decides; the body is read only so the connection ends cleanly.
      finish({ statusCode, error: null, retryAfterMs: retryAfter });
      res.on('close', () => req.destroy());
    });
    req.on('error', (err: NodeJS.ErrnoException) => {
      const blocked = err instanceof BlockedAddressError || err.code === 'EBLOCKED';
      finish({ statusCode: null, error: blocked ? `address not allowed: ${err.message}` : `${err.code ?? err.name}: connection failed`, retryAfterMs: 0 });
    });
    req.end(body);
  });
}

export interface WebhookWorkerDeps {
  config: Config;
  sql: Sql;
  logger: Logger;
  metrics?: Metrics | undefined;
}

export function createWebhookWorker({ config, sql, logger, metrics }: WebhookWorkerDeps) {
  const opts = config.consumerWebhooks;
  const outbox = createOutbox(sql);
  const webhook = opts.secret ? new Webhook(opts.secret) : undefined;
  // Longer than one attempt can take, so a lease never ends while its attempt still runs.
  const leaseMs = opts.timeoutMs * 2 + 5_000;
  let lastPrune = 0;
  // Stopping aborts the attempts in flight (loop.signal); their rows keep their lease.
  const loop = claimLoop({
    logger,
    failure: 'webhook worker tick failed',
    async round(launch) {
      if (opts.retentionMs > 0 && Date.now() - lastPrune > 60_000) {
        lastPrune = Date.now();
        const pruned = await outbox.prune(opts.retentionMs);
        if (pruned > 0) logger.info('pruned delivered webhooks', { count: pruned });
      }
      const rows = await outbox.claim(opts.concurrency - loop.inFlight, leaseMs);
      for (const row of rows) launch(() => deliver(row), (err) => logger.error('webhook delivery error', { webhook_id: row.id, error: loggableError(err) }));
    },
  });

  async function deliver(row: ClaimedDelivery): Promise<void> {
    if (!webhook) return;
    const now = new Date();
    const headers = {
      'webhook-id': row.id,
      'webhook-timestamp': String(Math.floor(now.getTime() / 1000)),
      'webhook-signature': webhook.sign(row.id, now, row.payload),
    };
    const r = await postWebhook(row.url, row.payload, headers, { timeoutMs: opts.timeoutMs, allowPrivate: opts.allowPrivate, signal: loop.signal });
    // Stopping: the attempt is not recorded; the lease ends and another process (or the next start) sends it again.
    if (loop.stopped && r.error === 'aborted') return;
    const ok = r.statusCode !== null && r.statusCode >= 200 && r.statusCode < 300;
    const attempt = row.attempts + 1;
    const outcome: AttemptOutcome = {
      ok,
      statusCode: r.statusCode,
      error: r.error,
      durationMs: r.durationMs,
      retryInMs: ok ? 0 : Math.min(opts.backoffMaxMs, Math.max(backoffMs(attempt, { baseMs: opts.backoffBaseMs, maxMs: opts.backoffMaxMs }), r.retryAfterMs)),
    };
    const kind = ok ? 'delivered' : r.statusCode !== null ? 'http_error' : r.error?.startsWith('address not allowed') ? 'blocked' : r.error?.startsWith('timeout') ? 'timeout' : 'network';
    metrics?.webhookDeliveries.inc({ outcome: kind });
    const state = await outbox.record(row.id, outcome, opts.giveUpAfterMs);
    const fields = { webhook_id: row.id, job_id: row.jobId, attempt, status_code: r.statusCode, error: r.error, duration_ms: Math.round(r.durationMs) };
    if (state === 'delivered') logger.info('webhook delivered', fields);
    else if (state === 'gave_up') {
      metrics?.webhookDeliveries.inc({ outcome: 'gave_up' });
      logger.warn('webhook given up', fields);
    } else logger.debug('webhook attempt failed', { ...fields, retry_in_ms: outcome.retryInMs });
  }

  return {
    /** Polls every `WEBHOOK_POLL_INTERVAL_MS`; does nothing without `CONSUMER_WEBHOOK_SECRET`. */
    start() {
      if (webhook) loop.start(opts.pollIntervalMs);
    },
    tick: () => (webhook ? loop.tick() : Promise.resolve()),
    /** Stops claiming, aborts the attempts in flight (their rows keep their lease) and waits for them. */
    stop: () => loop.stop(),
  };
}

export type WebhookWorker = ReturnType<typeof createWebhookWorker>;
