/**
 * `@ecg/sdk/ml-client`: the backend's client of an ML server (`process-video`, `health`), typed by
 * the ML-server contract, that never throws for what the ML server does: every outcome is a value.
 * @module
 */
import createClient, { type Client } from 'openapi-fetch';
import { parseRetryAfter } from './errors.js';
import type * as V10 from './generated/v1.0/ml-server.js';
import type { components as BackendComponents } from './generated/v1.1/backend.js';
import type * as V11 from './generated/v1.1/ml-server.js';
import { abortReason, describeFetchError, trimBase } from './internal.js';

/**
 * The ML-server contract versions this client speaks.
 *
 * @example
 * ```ts
 * import type { MlApiVersion } from '@ecg/sdk/ml-client';
 * const version: MlApiVersion = 'v1.1';
 * ```
 */
export type MlApiVersion = 'v1.0' | 'v1.1';

/**
 * The ML server's `paths` for a version (`v1.1` when the version is not known statically).
 *
 * @example
 * ```ts
 * import type { MlServerPathsFor } from '@ecg/sdk/ml-client';
 * type ProcessVideoOp = MlServerPathsFor<'v1.0'>['/api/upload-video/process-video']['post'];
 * ```
 */
export type MlServerPathsFor<V extends MlApiVersion> = [V] extends ['v1.0'] ? V10.paths : V11.paths;

/**
 * The body of `process-video` for a version.
 *
 * @example
 * ```ts
 * import type { MlProcessVideoRequest } from '@ecg/sdk/ml-client';
 * const body: MlProcessVideoRequest<'v1.1'> = {
 *   job_id: '550e8400-e29b-41d4-a716-446655440000',
 *   video_url: 'https://storage.example.com/videos/a.mp4?X-Amz-Signature=...',
 *   fastapi_base_url: 'https://ecg.example.com/api/ml-callback/tok123',
 *   language: 'auto',
 * };
 * ```
 */
export type MlProcessVideoRequest<V extends MlApiVersion = MlApiVersion> = [V] extends ['v1.0']
  ? V10.components['schemas']['ProcessVideoRequest']
  : V11.components['schemas']['ProcessVideoRequest'];

/**
 * The (documented) answer of `process-video` for a version.
 *
 * @example
 * ```ts
 * import type { MlProcessVideoResponse } from '@ecg/sdk/ml-client';
 * const isV11 = (r: MlProcessVideoResponse) => r.status === 'processing';
 * ```
 */
export type MlProcessVideoResponse<V extends MlApiVersion = MlApiVersion> = [V] extends ['v1.0']
  ? V10.components['schemas']['ProcessVideoResponse']
  : V11.components['schemas']['ProcessVideoResponse'];

/**
 * What {@link MlServerClient.processVideo} resolves with. Any 2xx is `ok` (`body` is the parsed
 * answer when it is a JSON object, else `null`: do not depend on it). A non-2xx is `kind: 'http'`
 * with the ML server's `{error: {code, message}}`, FastAPI's 422 `{detail}` (code
 * `VALIDATION_ERROR`), or code `ML_SERVER_ERROR`. No answer is `network` or `timeout`.
 *
 * @example
 * ```ts
 * import type { ProcessVideoOutcome } from '@ecg/sdk/ml-client';
 * const retryable = (o: ProcessVideoOutcome) => !o.ok && (o.kind !== 'http' || o.status >= 500 || o.status === 429);
 * ```
 */
export type ProcessVideoOutcome<V extends MlApiVersion = MlApiVersion> =
  | { ok: true; status: number; body: MlProcessVideoResponse<V> | null }
  | { ok: false; kind: 'http'; status: number; code: string; message: string; retryAfterMs?: number }
  | { ok: false; kind: 'network' | 'timeout'; message: string };

/**
 * What {@link MlServerClient.health} resolves with (the backend's `MlServerHealthResponse`).
 *
 * @example
 * ```ts
 * import type { MlHealthCheck } from '@ecg/sdk/ml-client';
 * const up = (h: MlHealthCheck) => h.status === 'healthy';
 * ```
 */
export type MlHealthCheck = BackendComponents['schemas']['MlServerHealthResponse'];

/**
 * A job as the ML server reports it (`getMlJobStatus`): with `completed`, its `result`; with
 * `failed`, `error_code` and `error_message`.
 *
 * @example
 * ```ts
 * import type { MlJobStatus } from '@ecg/sdk/ml-client';
 * const finished = (s: MlJobStatus) => s.status === 'completed' || s.status === 'failed';
 * ```
 */
export type MlJobStatus = V11.components['schemas']['MlJobStatus'];

/**
 * What {@link MlServerClient.jobStatus} resolves with. A 404 or 405 (`kind: 'http'`) means the ML
 * server does not know the job or has no such operation; `invalid` is a 2xx whose body is not a job status.
 *
 * @example
 * ```ts
 * import type { JobStatusOutcome } from '@ecg/sdk/ml-client';
 * const unsupported = (o: JobStatusOutcome) => !o.ok && o.kind === 'http' && (o.status === 404 || o.status === 405);
 * ```
 */
export type JobStatusOutcome =
  | { ok: true; status: number; body: MlJobStatus }
  | { ok: false; kind: 'http'; status: number; code: string; message: string }
  | { ok: false; kind: 'network' | 'timeout' | 'invalid'; message: string };

/**
 * The fetch the client calls (always with a `Request`). `globalThis.fetch` fits.
 *
 * @example
 * ```ts
 * import type { MlFetch } from '@ecg/sdk/ml-client';
 * const f: MlFetch = (req) => fetch(req);
 * ```
 */
export type MlFetch = (input: Request) => Promise<Response>;

/**
 * Options of {@link createMlServerClient}.
 *
 * @example
 * ```ts
 * import type { MlServerClientOptions } from '@ecg/sdk/ml-client';
 * const options: MlServerClientOptions = { baseUrl: process.env.MODEL_SERVER_URL!, timeoutMs: 300_000 };
 * ```
 */
export interface MlServerClientOptions<V extends MlApiVersion = MlApiVersion> {
  /** `MODEL_SERVER_URL`. */
  baseUrl: string;
  /** How long `processVideo` waits for an answer (`ML_API_TIMEOUT`). */
  timeoutMs: number;
  /** The ML server's contract version. Default `v1.1`. */
  version?: V;
  fetch?: MlFetch;
  /** How long `health` waits. Default 10000 ms. */
  healthTimeoutMs?: number;
  /** How long `jobStatus` waits (a completed job's answer carries its whole result). Default 30000 ms. */
  statusTimeoutMs?: number;
}

/**
 * The client {@link createMlServerClient} returns.
 *
 * @example
 * ```ts
 * import { createMlServerClient, type MlServerClient } from '@ecg/sdk/ml-client';
 * const ml: MlServerClient = createMlServerClient({ baseUrl: 'http://ml:8080', timeoutMs: 300_000 });
 * console.log(await ml.health());
 * ```
 */
export interface MlServerClient<V extends MlApiVersion = MlApiVersion> {
  /** The openapi-fetch client typed by the ML server's contract of this version. */
  readonly api: Client<MlServerPathsFor<V>>;
  readonly version: V;
  /** `POST /api/upload-video/process-video`; never throws except when `signal` aborts. */
  processVideo(body: MlProcessVideoRequest<V>, options?: { signal?: AbortSignal }): Promise<ProcessVideoOutcome<V>>;
  /** `GET /health`, timed. Never throws. */
  health(options?: { signal?: AbortSignal }): Promise<MlHealthCheck>;
  /** `GET /api/upload-video/status/{job_id}`; never throws except when `signal` aborts. */
  jobStatus(jobId: string, options?: { signal?: AbortSignal }): Promise<JobStatusOutcome>;
}

function combine(signals: (AbortSignal | undefined)[]): AbortSignal {
  const present = signals.filter((s): s is AbortSignal => s !== undefined);
  return present.length === 1 ? (present[0] as AbortSignal) : AbortSignal.any(present);
}

function describeValidation(detail: unknown): string | undefined {
  if (typeof detail === 'string') return detail;
  if (!Array.isArray(detail)) return undefined;
  const parts = detail.map((item: unknown) => {
    if (typeof item !== 'object' || item === null) return String(item);
    const { loc, msg } = item as { loc?: unknown; msg?: unknown };
    const where = Array.isArray(loc) ? loc.filter((p) => p !== 'body').join('.') : '';
    return `${where ? `${where}: ` : ''}${typeof msg === 'string' ? msg : 'invalid'}`;
  });
  return parts.length > 0 ? parts.join('; ') : undefined;
}

/** Reads a non-2xx answer of an ML server into code and message. */
function classifyMlError(status: number, payload: unknown): { code: string; message: string } {
  if (typeof payload === 'object' && payload !== null) {
    const { error, detail } = payload as { error?: unknown; detail?: unknown };
    if (typeof error === 'object' && error !== null) {
      const { code, message } = error as { code?: unknown; message?: unknown };
      if (typeof code === 'string') return { code, message: typeof message === 'string' ? message : `The ML server answered HTTP ${status}.` };
    }
    if (typeof error === 'string') return { code: error, message: typeof (payload as { message?: unknown }).message === 'string' ? (payload as { message: string }).message : `The ML server answered HTTP ${status}.` };
    const validation = describeValidation(detail);
    if (validation !== undefined) return { code: status === 422 ? 'VALIDATION_ERROR' : 'ML_SERVER_ERROR', message: validation };
  }
  return { code: 'ML_SERVER_ERROR', message: `The ML server answered HTTP ${status}.` };
}

/**
 * Creates the client the backend uses to call an ML server.
 *
 * @example
 * ```ts
 * import { createMlServerClient } from '@ecg/sdk/ml-client';
 *
 * const ml = createMlServerClient({ baseUrl: 'http://ml:8080', timeoutMs: 300_000, version: 'v1.1' });
 * const outcome = await ml.processVideo({ job_id, video_url, fastapi_base_url, language: 'auto' });
 * if (!outcome.ok) console.warn(outcome.kind, outcome.message);
 * ```
 */
export function createMlServerClient<V extends MlApiVersion = 'v1.1'>(options: MlServerClientOptions<V>): MlServerClient<V> {
  const version = (options.version ?? 'v1.1') as V;
  const fetchImpl: MlFetch = options.fetch ?? ((req) => globalThis.fetch(req));
  // Both versions have the same paths; the wider v1.1 types are used inside, the version's outside.
  const api = createClient<V11.paths>({ baseUrl: trimBase(options.baseUrl), fetch: fetchImpl });
  const healthTimeoutMs = options.healthTimeoutMs ?? 10_000;

  async function processVideo(body: MlProcessVideoRequest<V>, init: { signal?: AbortSignal } = {}): Promise<ProcessVideoOutcome<V>> {
    const timeout = AbortSignal.timeout(options.timeoutMs);
    try {
      const { error, response } = await api.POST('/api/upload-video/process-video', {
        body: body,
        parseAs: 'stream',
        signal: combine([timeout, init.signal]),
      });
      if (response.ok) {
        // Any 2xx means accepted (openapi/v1.1/ml-server.yaml, process-video): a body that breaks off or stalls does not change that.
        const text = await response.text().catch(() => '');
        let parsed: unknown = null;
        try {
          parsed = text ? JSON.parse(text) : null;
        } catch {
          parsed = null;
        }
        const bodyOut = typeof parsed === 'object' && parsed !== null && !Array.isArray(parsed) ? (parsed as MlProcessVideoResponse<V>) : null;
        return { ok: true, status: response.status, body: bodyOut };
      }
      const { code, message } = classifyMlError(response.status, error);
      const retryAfterMs = parseRetryAfter(response.headers.get('Retry-After'));
      return { ok: false, kind: 'http', status: response.status, code, message, ...(retryAfterMs !== undefined ? { retryAfterMs } : {}) };
    } catch (err) {
      if (init.signal?.aborted) throw abortReason(init.signal);
      if (timeout.aborted) return { ok: false, kind: 'timeout', message: `The ML server did not answer within ${options.timeoutMs} ms.` };
      return { ok: false, kind: 'network', message: `The ML server could not be reached: ${describeFetchError(err)}` };
    }
  }

  async function health(init: { signal?: AbortSignal } = {}): Promise<MlHealthCheck> {
    const timeout = AbortSignal.timeout(healthTimeoutMs);
    const started = performance.now();
    try {
      const { response } = await api.GET('/health', { parseAs: 'stream', signal: combine([timeout, init.signal]) });
      const elapsed = Math.round(performance.now() - started);
      await response.body?.cancel().catch(() => {});
      return { status: response.ok ? 'healthy' : 'unhealthy', response_time_ms: elapsed, http_status: response.status };
    } catch {
      return { status: timeout.aborted ? 'timeout' : 'connection_failed', response_time_ms: null, http_status: null };
    }
  }

  async function jobStatus(jobId: string, init: { signal?: AbortSignal } = {}): Promise<JobStatusOutcome> {
    const timeoutMs = options.statusTimeoutMs ?? 30_000;
    const timeout = AbortSignal.timeout(timeoutMs);
    try {
      const { data, error, response } = await api.GET('/api/upload-video/status/{job_id}', {
        params: { path: { job_id: jobId } },
        signal: combine([timeout, init.signal]),
      });
      if (!response.ok) return { ok: false, kind: 'http', status: response.status, ...classifyMlError(response.status, error) };
      if (typeof data !== 'object' || data === null || typeof data.status !== 'string') {
        return { ok: false, kind: 'invalid', message: 'The ML server answered the job status with something that is not one.' };
      }
      return { ok: true, status: response.status, body: data };
    } catch (err) {
      if (init.signal?.aborted) throw abortReason(init.signal);
      if (timeout.aborted) return { ok: false, kind: 'timeout', message: `The ML server did not answer within ${timeoutMs} ms.` };
      if (err instanceof SyntaxError) return { ok: false, kind: 'invalid', message: 'The ML server answered the job status with something that is not JSON.' };
      return { ok: false, kind: 'network', message: `The ML server could not be reached: ${describeFetchError(err)}` };
    }
  }

  return { api: api, version, processVideo, health, jobStatus };
}
