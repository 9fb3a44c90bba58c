/**
 * The background half of the reference ML server: download the video, report staged progress,
 * then `completed` (or `failed`), all through the SDK's callback client.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { type CallbackAck, type CallbackClient, type CallbackFetch,createCallbackClient } from '@ecg/sdk/ml-server';
import {
  buildResultV10,
  buildResultV11,
  DigestBuilder,
  emptyResultV10,
  emptyResultV11,
  type TranscriptOptions,
  type VideoDigest,
} from './transcript.js';
import type { MlJobStatus, MlResultV10, MlResultV11 } from './types.js';

export interface Logger {
  info(msg: string, fields?: Record<string, unknown>): void;
  warn(msg: string, fields?: Record<string, unknown>): void;
  error(msg: string, fields?: Record<string, unknown>): void;
}

/**
 * Ways to misbehave on purpose, so the backend's tests can meet every ML server they will meet.
 *
 * @example
 * await startReferenceMlServer({ behaviour: { duplicateCallbacks: true, stepDelayMs: 5 } });
 */
export interface Behaviour {
  /** Pause before each stage, in ms (default 50). Large values make jobs slow. */
  stepDelayMs?: number;
  /** Deliver every callback twice: the same request, same `webhook-id`, same signature. */
  duplicateCallbacks?: boolean;
  /** After the 60 % progress callback, send a 40 % one. */
  outOfOrder?: boolean;
  /** After the 40 % stage, send `failed` with this code and message instead of completing. */
  failWith?: { code: string; message: string };
  /** Answer the first N valid process-video calls with 503 (the backend should retry). */
  dispatchErrors?: number;
  /** Send callbacks unsigned even when a secret is configured (like the real ML server). */
  unsigned?: boolean;
  /** Complete with no segments, as the real ML server does after swallowing a pipeline error. */
  emptyResult?: boolean;
}

/** One job as this server sees it (the `jobs` map of the handle, for tests). */
export interface ReferenceJob {
  readonly job_id: string;
  /** `v1.1` when the request carried `fastapi_base_url`, `v1.0` otherwise. */
  readonly mode: 'v1.0' | 'v1.1';
  status: MlJobStatus['status'];
  progress: number;
  message: string;
  /** Whether it still holds one of the `maxJobs` slots. */
  running: boolean;
  error_code?: string;
  error_message?: string;
  result?: MlResultV11 | MlResultV10;
  /** Settles (never rejects) when processing has ended, callbacks included. */
  done: Promise<void>;
  readonly abort: AbortController;
}

export interface JobContext {
  logger: Logger;
  fetch: typeof fetch;
  behaviour: Behaviour;
  secret: string | undefined;
  /** v1.0 mode has no `fastapi_base_url`: callbacks go to `{legacyCallbackBaseUrl}/api/v1/ml/ml-results`. */
  legacyCallbackBaseUrl: string | undefined;
}

export interface JobInput {
  videoUrl: string;
  /** v1.1: where callbacks go; absent in v1.0 mode. */
  callbackBaseUrl: string | undefined;
  language: string | undefined;
}

export const DEFAULT_STEP_DELAY_MS = 50;
/** At most 2 GiB per video, the backend's default upload limit (docs/limits.md). */
const MAX_VIDEO_BYTES = 2 * 1024 ** 3;
const DOWNLOAD_TIMEOUT_MS = 300_000;

/** The stages of a job; each reports the progress at which it starts. */
const STAGES = [
  { progress: 25, message: 'Extracting audio' },
  { progress: 40, message: 'Detecting speech' },
  { progress: 60, message: 'Identifying speakers' },
  { progress: 75, message: 'Transcribing' },
  { progress: 90, message: 'Analysing emotion and confidence' },
] as const;

/** Seconds the whole run is expected to take, for `estimated_time`. */
export function estimatedSeconds(behaviour: Behaviour): number {
  const step = behaviour.stepDelayMs ?? DEFAULT_STEP_DELAY_MS;
  return Math.max(1, Math.ceil(((STAGES.length + 2) * step) / 1000));
}

/** Scheme, host and port only: callback base URLs carry per-job tokens, video URLs signatures. */
export function originOf(url: string): string {
  try {
    return new URL(url).origin;
  } catch {
    return '[invalid url]';
  }
}

/** The last path segment of the video URL, without the query string. */
export function filenameOf(url: string): string {
  try {
    const last = new URL(url).pathname.split('/').filter(Boolean).at(-1);
    return last ? decodeURIComponent(last) : 'video';
  } catch {
    return 'video';
  }
}

class DownloadError extends Error {}

/** The error's message plus a system code (ECONNREFUSED, ...) when fetch hides one in its cause; never the URL. */
function describe(err: unknown): string {
  if (!(err instanceof Error)) return String(err);
  const codeOf = (e: unknown): string | undefined =>
    typeof e === 'object' && e !== null && 'code' in e && typeof e.code === 'string' ? e.code : undefined;
  const cause = (err as { cause?: unknown }).cause;
  const code = codeOf(cause) ?? (cause instanceof AggregateError ? cause.errors.map(codeOf).find(Boolean) : undefined);
  return code ? `${err.message} (${code})` : err.message;
}

/** Reads the presigned URL through, hashing as it goes. Proves the URL works without credentials. */
async function download(url: string, fetchImpl: typeof fetch, signal: AbortSignal): Promise<VideoDigest> {
  let res: Response;
  try {
    res = await fetchImpl(url, { signal: AbortSignal.any([signal, AbortSignal.timeout(DOWNLOAD_TIMEOUT_MS)]) });
  } catch (err) {
    if (signal.aborted) throw err;
    throw new DownloadError(`The video could not be downloaded: ${describe(err)}`);
  }
  if (!res.ok) {
    await res.body?.cancel().catch(() => undefined);
    throw new DownloadError(`The video could not be downloaded: HTTP ${res.status}`);
  }
  const digest = new DigestBuilder();
  const reader = res.body?.getReader();
  try {
    for (;;) {
      if (!reader) break;
      const { done, value } = await reader.read();
      if (done) break;
      digest.update(value);
      if (digest.size > MAX_VIDEO_BYTES) throw new DownloadError('The video is larger than 2 GB');
    }
  } catch (err) {
    await reader?.cancel().catch(() => undefined);
    if (err instanceof DownloadError || signal.aborted) throw err;
    throw new DownloadError(`The video download broke off: ${describe(err)}`);
  }
  return digest.digest();
}

/**
 * The fetch the callback client gets: refuses once the job is stopped (so a closing server sends
 * nothing more, retries included), and with `duplicateCallbacks` sends each request twice,
 * identically (same `webhook-id` and signature), answering with the second response.
 */
function callbackFetch(fetchImpl: typeof fetch, signal: AbortSignal, duplicate: boolean): CallbackFetch {
  return async (request) => {
    signal.throwIfAborted();
    if (duplicate) {
      const first = await fetchImpl(request.clone());
      await first.body?.cancel().catch(() => undefined);
      signal.throwIfAborted();
    }
    return fetchImpl(request);
  };
}

function callbackClientFor(job: ReferenceJob, input: JobInput, ctx: JobContext): CallbackClient | undefined {
  const baseUrl = job.mode === 'v1.1' ? input.callbackBaseUrl : ctx.legacyCallbackBaseUrl;
  if (!baseUrl) return undefined;
  return createCallbackClient({
    baseUrl,
    // `unsigned`: like the real ML server, which never signs (it is authenticated by the per-job URL).
    secret: ctx.behaviour.unsigned ? undefined : ctx.secret,
    version: job.mode,
    fetch: callbackFetch(ctx.fetch, job.abort.signal, ctx.behaviour.duplicateCallbacks ?? false),
  });
}

/**
 * Runs one job to its end. Never rejects: a callback the SDK could not deliver (after its
 * retries) is logged and processing goes on, and an abort (the server closing) just stops.
 */
export async function runJob(job: ReferenceJob, input: JobInput, ctx: JobContext): Promise<void> {
  const { logger, behaviour } = ctx;
  const signal = job.abort.signal;
  const stepDelay = behaviour.stepDelayMs ?? DEFAULT_STEP_DELAY_MS;
  const started = performance.now();
  const client = callbackClientFor(job, input, ctx);
  if (!client) logger.warn('no callback target for a v1.0 job: set legacyCallbackBaseUrl', { job_id: job.job_id });

  const deliver = async (kind: string, send: (c: CallbackClient) => Promise<CallbackAck>) => {
    if (!client || signal.aborted) return;
    try {
      const ack = await send(client);
      if (ack.status === 'ignored') logger.info('callback ignored by the backend', { job_id: job.job_id, kind, reason: ack.reason });
    } catch (err) {
      if (signal.aborted) return;
      logger.warn('callback not delivered', { job_id: job.job_id, kind, error: describe(err) });
    }
  };
  const progress = async (percent: number, message: string) => {
    job.status = 'processing';
    job.progress = Math.max(job.progress, percent);
    job.message = message;
    await deliver('progress', (c) => c.progress(job.job_id, percent, message));
  };
  const fail = async (code: string, message: string) => {
    job.status = 'failed';
    job.error_code = code;
    job.error_message = message;
    job.message = message;
    logger.warn('job failed', { job_id: job.job_id, error_code: code, error: message });
    await deliver('failed', (c) => c.failed(job.job_id, code, message));
  };

  try {
    await sleep(stepDelay, undefined, { signal });
    await progress(10, 'Downloading video');
    let video: VideoDigest;
    try {
      video = await download(input.videoUrl, ctx.fetch, signal);
    } catch (err) {
      if (err instanceof DownloadError) return await fail('DOWNLOAD_ERROR', err.message);
      throw err;
    }
    logger.info('video downloaded', { job_id: job.job_id, bytes: video.size, from: originOf(input.videoUrl) });

    for (const stage of STAGES) {
      await sleep(stepDelay, undefined, { signal });
      await progress(stage.progress, stage.message);
      if (behaviour.outOfOrder && stage.progress === 60) {
        await deliver('progress', (c) => c.progress(job.job_id, 40, 'Detecting speech'));
      }
      if (behaviour.failWith && stage.progress === 40) {
        return await fail(behaviour.failWith.code, behaviour.failWith.message);
      }
    }

    await sleep(stepDelay, undefined, { signal });
    const opts: TranscriptOptions = {
      filename: filenameOf(input.videoUrl),
      language: input.language,
      processingTime: (performance.now() - started) / 1000,
    };
    const result =
      job.mode === 'v1.1'
        ? behaviour.emptyResult ? emptyResultV11(opts) : buildResultV11(video, opts)
        : behaviour.emptyResult ? emptyResultV10(opts) : buildResultV10(video, opts);
    job.status = 'completed';
    job.progress = 100;
    job.message = 'Processing completed';
    job.result = result;
    logger.info('job completed', { job_id: job.job_id, segments: result.segments?.length ?? 0 });
    await deliver('completed', (c) => c.completed(job.job_id, result));
  } catch (err) {
    if (signal.aborted) {
      job.status = 'failed';
      job.message = 'Stopped: the ML server shut down';
      logger.info('job stopped', { job_id: job.job_id });
      return;
    }
    // A bug here must not become an unhandled rejection; report it as the real server would.
    logger.error('job crashed', { job_id: job.job_id, error: describe(err) });
    await fail('PROCESSING_ERROR', 'Processing failed');
  } finally {
    job.running = false;
  }
}
