/** requestProcess, getJobStatus, streamJobEvents, cancelJob, listJobs, listMyJobs, deleteJob (docs/job-lifecycle.md, docs/my-jobs.md). */
import type { OpenAPIHono } from '@hono/zod-openapi';
import type { Context } from 'hono';
import { streamSSE } from 'hono/streaming';
import type { AppEnv, RouteContext } from '../context.js';
import { jobStatusAnswers } from '../domain/job-status.js';
import { cancelJob, deleteJob, type JobRules, type JobSource, ownedJob, requestProcessing } from '../domain/jobs.js';
import { ApiError, loggableError } from '../errors.js';
import type * as v11 from '../generated/v1.1/routes.js';
import { authEnabled, isAdmin, requireAdmin, resolveOwner } from '../http/auth.js';
import { lastEventVersion } from '../http/stream-limits.js';
import { TERMINAL } from '../jobs/lifecycle.js';
import { statusJson, toJobSummary } from '../jobs/mapper.js';
import type { JobView, ListPosition } from '../jobs/reads.js';

/** Rough processing time announced to the frontend: the ML server's own estimate (docs/limits.md). */
const ESTIMATED_SECONDS = 300;

/** The request body's file: `fileKey` or `file_key` first, then `video_url`. */
function sourceOf(body: { fileKey?: string | undefined; file_key?: string | undefined; video_url?: string | undefined }): JobSource {
  const fileKey = body.fileKey ?? body.file_key;
  if (fileKey !== undefined) return { fileKey };
  return body.video_url !== undefined ? { videoUrl: body.video_url } : {};
}

export function registerJobRoutes(api: OpenAPIHono<AppEnv>, r: typeof v11, { deps, jobs, limiter, clientKey, streams }: RouteContext) {
  const { config } = deps;
  const rules: JobRules = { config, storage: deps.storage, jobs };
  const owner = (c: Context<AppEnv>) => resolveOwner(config.auth, c.req.header('authorization'));

  api.openapi(r.requestProcess, async (c) => {
    const caller = await owner(c);
    const body = c.req.valid('json');
    const client = clientKey(c, caller);
    // Only a request that creates a job uses up the client's limit (server/http/rate-limit.ts).
    const { row, created, size } = await limiter.limit(
      c,
      client,
      () =>
        requestProcessing(rules, {
          owner: caller,
          client,
          source: sourceOf(body),
          language: body.language,
          idempotencyKey: c.req.valid('header')['idempotency-key'] ?? null,
          webhookUrl: body.webhook_url,
        }),
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

  const statusAnswer = jobStatusAnswers(config, jobs, deps.events.versions);

  api.openapi(r.getJobStatus, async (c) => {
    const { job_id } = c.req.valid('param');
    const caller = await owner(c);
    c.header('Cache-Control', 'no-cache');
    const answer = await statusAnswer(caller, job_id, c.req.valid('header')['if-none-match']);
    c.header('ETag', answer.etag);
    if (answer.status === 304) return c.body(null, 304);
    c.header('Content-Type', 'application/json');
    return c.body(answer.body, 200);
  });

  api.openapi(r.streamJobEvents, async (c) => {
    const { job_id } = c.req.valid('param');
    const caller = await owner(c);
    const first = await ownedJob(rules, caller, job_id, (id) => jobs.view(id));
    // Capped per client and per process, and closed after a maximum lifetime (docs/limits.md).
    const release = streams.acquire(clientKey(c, caller));
    const deadline = Date.now() + streams.maxLifetimeMs;
    const response = streamSSE(c, async (stream) => {
      let wake: (() => void) | undefined;
      let dirty = true;
      const unsubscribe = deps.events.subscribe(job_id, () => {
        dirty = true;
        wake?.();
      });
      stream.onAbort(() => wake?.());
      let lastVersion = lastEventVersion(c.req.header('last-event-id'));
      let row: JobView | undefined = first;
      try {
        while (!stream.aborted && !deps.events.closed && Date.now() < deadline) {
          if (dirty) {
            dirty = false;
            row = row ?? (await jobs.view(job_id));
            if (!row) break;
            if (row.version !== lastVersion) {
              lastVersion = row.version;
              await stream.writeSSE({ event: 'status', data: statusJson(row), id: String(row.version) });
            }
            if (TERMINAL.has(row.status)) break;
            row = undefined;
          }
          // A change that arrived while we were reading or writing: handle it now, without waiting.
          if (dirty || stream.aborted || deps.events.closed) continue;
          // Wait for a notification, with a keep-alive comment (and a re-read, in case one was missed) every 15 s.
          const timedOut = await new Promise<boolean>((resolve) => {
            const timer = setTimeout(() => resolve(true), Math.max(0, Math.min(15_000, deadline - Date.now())));
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
        release();
      }
    });
    return response;
  });

  api.openapi(r.cancelJob, async (c) => {
    const { job_id } = c.req.valid('param');
    const { jobId } = await cancelJob(rules, await owner(c), job_id);
    deps.logger.info('job cancelled', { request_id: c.get('requestId'), job_id: jobId });
    return c.json({ job_id: jobId, status: 'cancelled' as const, message: 'Job cancelled.' }, 200);
  });

  api.openapi(r.listJobs, async (c) => {
    requireAdmin(config.auth.adminToken, c.req.header('authorization'));
    const { status, limit, offset, cursor } = c.req.valid('query');
    if (cursor !== undefined) {
      const after = positionOf(cursor);
      const rows = await jobs.list({ status, limit: limit + 1, offset: 0, after });
      return c.json({ jobs: rows.slice(0, limit).map(toJobSummary), limit, offset: 0, next_cursor: nextCursor(rows, limit) }, 200);
    }
    const [rows, total] = await Promise.all([jobs.list({ status, limit: limit + 1, offset }), jobs.count(status)]);
    return c.json({ jobs: rows.slice(0, limit).map(toJobSummary), total, limit, offset, next_cursor: nextCursor(rows, limit) }, 200);
  });

  api.openapi(r.listMyJobs, async (c) => {
    // Open mode: jobs have no owner, so no list is anybody's own (docs/my-jobs.md).
    if (!authEnabled(config.auth)) throw new ApiError('NOT_FOUND', 'Listing your own jobs needs authentication (JWT_SECRET or API_TOKENS); in open mode jobs have no owner.');
    const caller = await owner(c);
    const { status, limit, cursor, created_after: createdAfter, created_before: createdBefore } = c.req.valid('query');
    const after = cursor === undefined ? undefined : positionOf(cursor);
    const rows = await jobs.list({ status, limit: limit + 1, offset: 0, after, owner: caller ?? '', createdAfter, createdBefore });
    return c.json({ jobs: rows.slice(0, limit).map(toJobSummary), limit, next_cursor: nextCursor(rows, limit) }, 200);
  });

  api.openapi(r.deleteJob, async (c) => {
    const { job_id } = c.req.valid('param');
    const authorization = c.req.header('authorization');
    const who = isAdmin(config.auth.adminToken, authorization) ? ({ admin: true } as const) : { admin: false as const, owner: await owner(c) };
    const { deleted } = await deleteJob(rules, who, job_id.toLowerCase(), {
      cancel: c.req.valid('query').cancel,
      onStorageError: (err) => deps.logger.warn('video delete failed', { job_id, error: loggableError(err) }),
    });
    if (deleted) deps.logger.info('job deleted', { request_id: c.get('requestId'), job_id, by: who.admin ? 'admin' : 'owner' });
    return c.body(null, 204);
  });
}

/** The cursor after a page: the position of its last job, when a further row was found (docs/api-versions.md). */
function nextCursor(rows: ReadonlyArray<{ position: string; id: string }>, limit: number): string | null {
  const last = rows.length > limit ? rows[limit - 1] : undefined;
  return last ? Buffer.from(`${last.position}|${last.id}`).toString('base64url') : null;
}

const POSITION = /^(\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{6}Z)\|([0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})$/;

function positionOf(cursor: string): ListPosition {
  const m = POSITION.exec(Buffer.from(cursor, 'base64url').toString('utf8'));
  if (!m || Number.isNaN(Date.parse(m[1]!))) {
    throw new ApiError('VALIDATION_ERROR', 'The request is invalid: cursor: not a cursor this service gave.', {
      details: [{ path: 'cursor', message: 'not a cursor this service gave' }],
    });
  }
  return { createdAt: m[1]!, id: m[2]! };
}
