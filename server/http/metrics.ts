/**
 * Prometheus metrics (prom-client), one registry per app so tests can build many (docs/dispatch.md,
 * "Observing the service"). Labels are bounded: routes are Hono route templates, never raw paths,
 * so job ids and callback tokens never become label values.
 */
import { Counter, Gauge, Histogram, Registry } from 'prom-client';
import type { MlServerClient } from '@ecg/sdk/ml-client';

/** Seconds: fast JSON answers through slow ML requests. */
const HTTP_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];
const ML_BUCKETS = [0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300];

export interface Metrics {
  registry: Registry;
  httpDuration: Histogram<'method' | 'route' | 'status'>;
  dispatchAttempts: Counter<'outcome'>;
  mlRequestDuration: Histogram<'operation' | 'outcome'>;
  callbacks: Counter<'auth' | 'outcome'>;
  reconciliations: Counter<'outcome'>;
  webhookDeliveries: Counter<'outcome'>;
  eventStreams: Gauge;
  /** Sets what the jobs-by-status and database gauges read at scrape time. */
  collectFrom(sources: ScrapeSources): void;
}

export interface ScrapeSources {
  /** One `select status, count(*) from jobs group by status`. */
  jobCounts(): Promise<Array<{ status: string; count: number }>>;
  /** The pool size and the connections the backend has open, per state, from pg_stat_activity. */
  poolSize: number;
  connections(): Promise<Array<{ state: string; count: number }>>;
}

export function createMetrics(initialSources?: ScrapeSources): Metrics {
  const registry = new Registry();
  const registers = [registry];
  let sources: ScrapeSources | undefined = initialSources;
  const seenStatuses = new Set<string>(['pending', 'processing', 'completed', 'failed', 'cancelled']);

  const metrics: Omit<Metrics, 'collectFrom'> = {
    registry,
    httpDuration: new Histogram({
      name: 'ecg_http_request_duration_seconds',
      help: 'HTTP requests by route template, method and status.',
      labelNames: ['method', 'route', 'status'],
      buckets: HTTP_BUCKETS,
      registers,
    }),
    dispatchAttempts: new Counter({
      name: 'ecg_dispatch_attempts_total',
      help: 'Attempts to hand a job to the ML server, by outcome: accepted, refused (4xx), retryable (5xx/429), network, timeout.',
      labelNames: ['outcome'],
      registers,
    }),
    mlRequestDuration: new Histogram({
      name: 'ecg_ml_request_duration_seconds',
      help: 'Requests to the ML server by operation (process_video, job_status, health) and outcome.',
      labelNames: ['operation', 'outcome'],
      buckets: ML_BUCKETS,
      registers,
    }),
    callbacks: new Counter({
      name: 'ecg_callbacks_total',
      help: 'ML callbacks by authentication kind (signature, hmac, token, unsigned, none) and outcome (accepted, unauthorized, not_found, invalid, error).',
      labelNames: ['auth', 'outcome'],
      registers,
    }),
    reconciliations: new Counter({
      name: 'ecg_reconciliations_total',
      help: 'Questions to the ML server about silent processing jobs, by outcome: completed, failed, unchanged, unsupported, unanswered.',
      labelNames: ['outcome'],
      registers,
    }),
    webhookDeliveries: new Counter({
      name: 'ecg_webhook_deliveries_total',
      help: 'Consumer webhook delivery attempts by outcome: delivered (2xx), http_error, network, timeout, blocked (address not allowed); gave_up counts events abandoned after WEBHOOK_GIVE_UP_AFTER.',
      labelNames: ['outcome'],
      registers,
    }),
    eventStreams: new Gauge({ name: 'ecg_event_streams_open', help: 'Server-Sent Event streams open on this process.', registers }),
  };

  new Gauge({
    name: 'ecg_jobs',
    help: 'Jobs in the database by status (all processes), read at scrape time.',
    labelNames: ['status'],
    registers,
    async collect() {
      if (!sources) return;
      const rows = await sources.jobCounts();
      this.reset();
      for (const s of seenStatuses) this.set({ status: s }, 0);
      for (const { status, count } of rows) {
        seenStatuses.add(status);
        this.set({ status }, count);
      }
    },
  });
  new Gauge({
    name: 'ecg_db_pool_max',
    help: 'Connections the database pool of this process may open (DATABASE_POOL_SIZE).',
    registers,
    collect() {
      if (sources) this.set(sources.poolSize);
    },
  });
  new Gauge({
    name: 'ecg_db_connections',
    help: 'Connections of the backend (application_name ecg-backend, all processes) by state, from pg_stat_activity at scrape time.',
    labelNames: ['state'],
    registers,
    async collect() {
      if (!sources) return;
      const rows = await sources.connections();
      this.reset();
      for (const state of ['active', 'idle', 'idle in transaction']) this.set({ state }, 0);
      for (const { state, count } of rows) this.set({ state }, count);
    },
  });

  return { ...metrics, collectFrom: (s) => (sources = s) };
}

/**
 * The ML client with every request timed into `ecg_ml_request_duration_seconds`; outcome `ok`, or the
 * failure's kind (`http`, `network`, `timeout`, ...).
 */
export function instrumentMl<C extends MlServerClient>(ml: C, metrics: Metrics): C {
  async function timed<T extends { ok?: boolean; kind?: string } | { status: string }>(operation: string, call: () => Promise<T>): Promise<T> {
    const end = metrics.mlRequestDuration.startTimer({ operation });
    try {
      const result = await call();
      const outcome = 'ok' in result ? (result.ok ? 'ok' : result.kind ?? 'error') : (result as { status: string }).status;
      end({ outcome });
      return result;
    } catch (err) {
      end({ outcome: 'aborted' });
      throw err;
    }
  }
  return {
    ...ml,
    processVideo: (body, options) => timed('process_video', () => ml.processVideo(body, options)),
    health: (options) => timed('health', () => ml.health(options)),
    jobStatus: (jobId, options) => timed('job_status', () => ml.jobStatus(jobId, options)),
  };
}
