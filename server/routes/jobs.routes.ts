/** requestProcess, getJobStatus, streamJobEvents, cancelJob, listJobs (docs/job-lifecycle.md). */
import type { OpenAPIHono } from '@hono/zod-openapi';
import type { Context } from 'hono';
import { streamSSE } from 'hono/streaming';
import type { JobRow } from '../../drizzle/schema.js';
import type { AppEnv, RouteContext } from '../context.js';
import { cancelJob, ownedJob, requestProcessing, type JobRules, type JobSource } from '../domain/jobs.js';
import type * as v11 from '../generated/v1.1/routes.js';
import { requireAdmin, resolveOwner } from '../http/auth.js';
import { TERMINAL } from '../jobs/lifecycle.js';
import { etagOf, toJobStatus, toJobSummary } from '../jobs/mapper.js';

/** Rough processing time announced to the frontend: the ML server's own estimate (docs/limits.md). */
const ESTIMATED_SECONDS = 300;

/** The request body's file: `fileKey` or `file_key` first, then `video_url`. */
function sourceOf(body: { fileKey?: string | undefined; file_key?: string | undefined; video_url?: string | undefined }): JobSource {
  const fileKey = body.fileKey ?? body.file_key;
  if (fileKey !== undefined) return { fileKey };
  return body.video_url !== undefined ? { videoUrl: body.video_url } : {};
}

export function registerJobRoutes(api: OpenAPIHono<AppEnv>, r: typeof v11, { deps, jobs, limiter, clientKey }: RouteContext) {
  const { config } = deps;
  const rules: JobRules = { config, storage: deps.storage, jobs };
  const owner = (c: Context<AppEnv>) => resolveOwner(config.auth, c.req.header('authorization'));

  api.openapi(r.requestProcess, async (c) => {
    const caller = await owner(c);
    const body = c.req.valid('json');
    // Only a request that creates a job uses up the client's limit (server/http/rate-limit.ts).
    const { row, created, size } = await limiter.limit(
      c,
      clientKey(c, caller),
      () => requestProcessing(rules, { owner: caller, source: sourceOf(body), language: body.language, idempotencyKey: c.req.valid('header')['idempotency-key'] ?? null }),
      (r) => r.created,
    );
    if (created) {
      deps.logger.info('job created', { request_id: c.get('requestId'), job_id: row.id, size });
      deps.onJobCreated?.();
    }
    return c.json(
      {
        job_id: row.id,
        status: row.status,
        message: 'Video processing started.',
        estimated_time: ESTIMATED_SECONDS,
        status_url: `/api/upload-video/status/${row.id}`,
      },
      200,
    );
  });

  api.openapi(r.getJobStatus, async (c) => {
    const { job_id } = c.req.valid('param');
    const caller = await owner(c);
    c.header('Cache-Control', 'no-cache');
    const ifNoneMatch = c.req.valid('header')['if-none-match'];
    if (ifNoneMatch !== undefined) {
      // The 2-second poll's common case: unchanged. Compare versions without reading the result.
      const head = await ownedJob(rules, caller, job_id, jobs.getVersion);
      const etag = etagOf(head);
      if (ifNoneMatch.split(',').some((t) => t.trim() === etag)) {
        c.header('ETag', etag);
        return c.body(null, 304);
      }
    }
    const row = await ownedJob(rules, caller, job_id, jobs.get);
    c.header('ETag', etagOf(row));
    return c.json(toJobStatus(row), 200);
  });

  api.openapi(r.streamJobEvents, async (c) => {
    const { job_id } = c.req.valid('param');
    const first = await ownedJob(rules, await owner(c), job_id, jobs.get);
    const response = streamSSE(c, async (stream) => {
      let wake: (() => void) | undefined;
      let dirty = true;
      const unsubscribe = deps.events.subscribe(job_id, () => {
        dirty = true;
        wake?.();
      });
      stream.onAbort(() => wake?.());
      let lastVersion = -1;
      let row: JobRow | undefined = first;
      try {
        while (!stream.aborted && !deps.events.closed) {
          if (dirty) {
            dirty = false;
            row = row ?? (await jobs.get(job_id));
            if (!row) break;
            if (row.version !== lastVersion) {
              lastVersion = row.version;
              await stream.writeSSE({ event: 'status', data: JSON.stringify(toJobStatus(row)), id: String(row.version) });
              if (TERMINAL.has(row.status)) break;
            }
            row = undefined;
          }
          // A change that arrived while we were reading or writing: handle it now, without waiting.
          if (dirty || stream.aborted || deps.events.closed) continue;
          // Wait for a notification, with a keep-alive comment (and a re-read, in case one was missed) every 15 s.
          const timedOut = await new Promise<boolean>((resolve) => {
            const timer = setTimeout(() => resolve(true), 15_000);
            wake = () => {
              clearTimeout(timer);
              resolve(false);
            };
          });
          wake = undefined;
          if (timedOut && !stream.aborted) {
            await stream.write(': keep-alive\n\n');
            dirty = true;
          }
        }
      } finally {
        unsubscribe();
      }
    });
    return response as unknown as ReturnType<typeof c.text<string, 200>>;
  });

  api.openapi(r.cancelJob, async (c) => {
    const { job_id } = c.req.valid('param');
    const { jobId } = await cancelJob(rules, await owner(c), job_id);
    deps.logger.info('job cancelled', { request_id: c.get('requestId'), job_id: jobId });
    return c.json({ job_id: jobId, status: 'cancelled' as const, message: 'Job cancelled.' }, 200);
  });

  api.openapi(r.listJobs, async (c) => {
    requireAdmin(config.auth.adminToken, c.req.header('authorization'));
    const { status, limit, offset } = c.req.valid('query');
    const { rows, total } = await jobs.list({ status, limit, offset });
    return c.json({ jobs: rows.map(toJobSummary), total, limit, offset }, 200);
  });
}
