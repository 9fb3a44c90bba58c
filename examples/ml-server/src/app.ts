/**
 * The HTTP face of the reference ML server (openapi/v1.1/ml-server.yaml and v1.0): `processVideo`,
 * `getMlJobStatus`, `getMlHealth`. Errors use the ML server's envelope `{error: {code, message, job_id}}`;
 * validation failures use FastAPI's `{detail: [{type, loc, msg, input}]}`, as the real (Python) server does.
 */
import { type Context,Hono } from 'hono';
import { bodyLimit } from 'hono/body-limit';
import type { ContentfulStatusCode } from 'hono/utils/http-status';
import { estimatedSeconds, type JobContext, type JobInput, originOf, type ReferenceJob,runJob } from './jobs.js';
import type { MlError, MlHealth, MlJobStatus, MlValidationError, ProcessVideoResponseV10, ProcessVideoResponseV11 } from './types.js';

export interface AppDeps extends JobContext {
  jobs: Map<string, ReferenceJob>;
  /** Jobs at once, as the ML spec allows (docs/limits.md). */
  maxJobs: number;
  /** Finished jobs kept for the status endpoint before the oldest are forgotten. */
  keepFinished: number;
}

type Detail = { type: string; loc: (string | number)[]; msg: string; input: unknown; ctx?: Record<string, unknown> };

function mlError(c: Context, status: ContentfulStatusCode, code: string, message: string, jobId: string | null = null) {
  const body: MlError = { error: { code, message, job_id: jobId } };
  return c.json(body, status);
}

function validationError(c: Context, detail: Detail[]) {
  const body: MlValidationError = { detail };
  return c.json(body, 422);
}

interface ParsedRequest {
  job_id: string;
  video_url: string;
  fastapi_base_url: string | undefined;
  language: string | undefined;
}

/** Pydantic's checks for `ProcessVideoRequest`, with its error types and messages. */
function validate(body: unknown): { ok: true; value: ParsedRequest } | { ok: false; detail: Detail[] } {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) {
    return {
      ok: false,
      detail: [{ type: 'model_attributes_type', loc: ['body'], msg: 'Input should be a valid dictionary or object to extract fields from', input: body }],
    };
  }
  const b = body as Record<string, unknown>;
  const detail: Detail[] = [];
  const has = (k: string) => Object.hasOwn(b, k);
  for (const key of ['job_id', 'video_url'] as const) {
    if (!has(key)) detail.push({ type: 'missing', loc: ['body', key], msg: 'Field required', input: body });
    else if (typeof b[key] !== 'string') detail.push({ type: 'string_type', loc: ['body', key], msg: 'Input should be a valid string', input: b[key] });
  }
  // `language: str = "auto"`: null is not a string (the contract: "the real ML server answers null with 422").
  if (has('language') && typeof b.language !== 'string') {
    detail.push({ type: 'string_type', loc: ['body', 'language'], msg: 'Input should be a valid string', input: b.language });
  }
  // `fastapi_base_url: Optional[str] = None`; it must be usable as a callback base.
  const base = b.fastapi_base_url;
  if (base !== undefined && base !== null) {
    if (typeof base !== 'string') {
      detail.push({ type: 'string_type', loc: ['body', 'fastapi_base_url'], msg: 'Input should be a valid string', input: base });
    } else if (!/^https?:\/\/[^/]/i.test(base) || originOf(base) === '[invalid url]') {
      detail.push({ type: 'url_parsing', loc: ['body', 'fastapi_base_url'], msg: 'Input should be a valid URL', input: base });
    }
  }
  for (const key of ['enable_gpu', 'emotion_detection'] as const) {
    if (has(key) && typeof b[key] !== 'boolean') detail.push({ type: 'bool_type', loc: ['body', key], msg: 'Input should be a valid boolean', input: b[key] });
  }
  if (has('max_workers') && !Number.isInteger(b.max_workers)) {
    detail.push({ type: 'int_type', loc: ['body', 'max_workers'], msg: 'Input should be a valid integer', input: b.max_workers });
  }
  if (detail.length > 0) return { ok: false, detail };
  return {
    ok: true,
    value: {
      job_id: b.job_id as string,
      video_url: b.video_url as string,
      fastapi_base_url: typeof base === 'string' ? base : undefined,
      language: typeof b.language === 'string' ? b.language : undefined,
    },
  };
}

function activeJobs(jobs: Map<string, ReferenceJob>): number {
  let n = 0;
  for (const job of jobs.values()) if (job.running) n += 1;
  return n;
}

function forgetOldJobs(jobs: Map<string, ReferenceJob>, keep: number): void {
  let finished = 0;
  for (const job of jobs.values()) if (!job.running) finished += 1;
  // Map order is insertion order: the first finished ones are the oldest.
  for (const [id, job] of jobs) {
    if (finished <= keep) break;
    if (!job.running) {
      jobs.delete(id);
      finished -= 1;
    }
  }
}

/**
 * @example
 * const app = createMlApp({ jobs: new Map(), maxJobs: 10, keepFinished: 1000, logger, fetch, behaviour: {}, secret: undefined, legacyCallbackBaseUrl: undefined });
 * const res = await app.request('/health');
 */
export function createMlApp(deps: AppDeps): Hono {
  const { jobs, logger, behaviour } = deps;
  let dispatchErrorsLeft = behaviour.dispatchErrors ?? 0;
  const app = new Hono();

  app.onError((err, c) => {
    logger.error('unhandled error', { error: err.message, path: c.req.path });
    return mlError(c, 500, 'INTERNAL_ERROR', 'The ML server failed.');
  });
  app.notFound((c) => mlError(c, 404, 'NOT_FOUND', 'No such endpoint.'));

  app.get('/health', (c) => {
    const body: MlHealth = { status: 'healthy', active_jobs: activeJobs(jobs), max_jobs: deps.maxJobs };
    return c.json(body, 200);
  });

  app.get('/api/upload-video/status/:job_id', (c) => {
    const jobId = c.req.param('job_id');
    const job = jobs.get(jobId);
    if (!job) return mlError(c, 404, 'JOB_NOT_FOUND', `No job with id ${jobId}.`, jobId);
    // With the result or the error, so a backend whose callback was lost can still finish the job.
    const body: MlJobStatus = {
      job_id: job.job_id,
      status: job.status,
      progress: job.progress,
      message: job.message,
      result: job.status === 'completed' ? (job.result ?? null) : null,
      error_code: job.status === 'failed' ? (job.error_code ?? null) : null,
      error_message: job.status === 'failed' ? (job.error_message ?? null) : null,
    };
    return c.json(body, 200);
  });

  app.post(
    '/api/upload-video/process-video',
    bodyLimit({ maxSize: 64 * 1024, onError: (c) => mlError(c, 413, 'PAYLOAD_TOO_LARGE', 'The request body is larger than 64 KB.') }),
    async (c) => {
      const raw = await c.req.text();
      let body: unknown;
      try {
        body = JSON.parse(raw);
      } catch (err) {
        return validationError(c, [
          { type: 'json_invalid', loc: ['body', 0], msg: 'JSON decode error', input: {}, ctx: { error: err instanceof Error ? err.message : 'invalid JSON' } },
        ]);
      }
      const parsed = validate(body);
      if (!parsed.ok) return validationError(c, parsed.detail);
      const req = parsed.value;
      const mode = req.fastapi_base_url ? 'v1.1' : 'v1.0';

      if (dispatchErrorsLeft > 0) {
        dispatchErrorsLeft -= 1;
        logger.warn('refusing a dispatch on purpose (behaviour.dispatchErrors)', { job_id: req.job_id, left: dispatchErrorsLeft });
        return mlError(c, 503, 'SERVICE_UNAVAILABLE', 'The ML server is temporarily unavailable.', req.job_id);
      }

      const existing = jobs.get(req.job_id);
      if (!existing?.running) {
        if (activeJobs(jobs) >= deps.maxJobs) {
          logger.warn('job refused: all slots busy', { job_id: req.job_id, max_jobs: deps.maxJobs });
          return mlError(c, 503, 'INSUFFICIENT_RESOURCES', `The ML server is already processing ${deps.maxJobs} jobs.`, req.job_id);
        }
        const job: ReferenceJob = {
          job_id: req.job_id,
          mode,
          status: mode === 'v1.1' ? 'processing' : 'accepted',
          progress: 0,
          message: 'Queued',
          running: true,
          done: Promise.resolve(),
          abort: new AbortController(),
        };
        const input: JobInput = { videoUrl: req.video_url, callbackBaseUrl: req.fastapi_base_url, language: req.language };
        jobs.delete(req.job_id);
        jobs.set(req.job_id, job);
        forgetOldJobs(jobs, deps.keepFinished);
        logger.info('job accepted', { job_id: req.job_id, mode, callbacks_to: req.fastapi_base_url ? originOf(req.fastapi_base_url) : undefined });
        job.done = runJob(job, input, deps);
      }
      // A repeated dispatch of a running job is answered again without starting a second run.

      const estimated_time = estimatedSeconds(behaviour);
      if (mode === 'v1.0') {
        const answer: ProcessVideoResponseV10 = { job_id: req.job_id, status: 'accepted', message: 'Processing started', estimated_time };
        return c.json(answer, 200);
      }
      const answer: ProcessVideoResponseV11 = {
        job_id: req.job_id,
        status: 'processing',
        message: 'Video processing started',
        status_url: `/api/upload-video/status/${encodeURIComponent(req.job_id)}`,
        estimated_time,
      };
      return c.json(answer, 200);
    },
  );

  return app;
}
