/** requestProcess, getJobStatus, streamJobEvents, cancelJob, listJobs (CONTRACT.md, "Backend endpoints"). */
import { randomBytes, randomUUID } from 'node:crypto';
import type { OpenAPIHono } from '@hono/zod-openapi';
import type { Context } from 'hono';
import { streamSSE } from 'hono/streaming';
import type { JobRow } from '../../drizzle/schema.js';
import type { AppEnv, RouteContext } from '../app.js';
import { ApiError } from '../errors.js';
import type * as v11 from '../generated/v1.1/routes.js';
import { authEnabled, requireAdmin, resolveOwner } from '../http/auth.js';
import { etagOf, toJobStatus, toJobSummary } from '../jobs/mapper.js';
import { TERMINAL } from '../jobs/state.js';
import { isSafeKey } from '../storage/index.js';
import { isMediaType } from '../storage/media.js';
import { ownerSegment } from './upload.routes.js';

/** Rough processing time announced to the frontend (seed 001: the ML server's own estimate is 300 s). */
const ESTIMATED_SECONDS = 300;

function clientKey(c: Context<AppEnv>, owner: string | null): string {
  if (owner) return `owner:${owner}`;
  const incoming = (c.env as { incoming?: { socket?: { remoteAddress?: string } } } | undefined)?.incoming;
  return `ip:${incoming?.socket?.remoteAddress ?? 'local'}`;
}

export function registerJobRoutes(api: OpenAPIHono<AppEnv>, r: typeof v11, { deps, jobs, limiter }: RouteContext) {
  const { config } = deps;

  /** The job, when it exists and (with auth on) belongs to the caller; otherwise JOB_NOT_FOUND. */
  async function owned<R extends Pick<JobRow, 'owner'>>(id: string, authorization: string | undefined, read: (id: string) => Promise<R | undefined>): Promise<R> {
    const owner = await resolveOwner(config.auth, authorization);
    const row = await read(id);
    if (!row || (authEnabled(config.auth) && row.owner !== owner)) throw new ApiError('JOB_NOT_FOUND', `No job with id ${id}.`);
    return row;
  }
  const ownJob = (id: string, authorization: string | undefined) => owned(id, authorization, jobs.get);

  api.openapi(r.requestProcess, async (c) => {
    const owner = await resolveOwner(config.auth, c.req.header('authorization'));
    limiter.hit(clientKey(c, owner));
    const body = c.req.valid('json');
    let key = body.fileKey ?? body.file_key;
    if (key === undefined && body.video_url !== undefined) {
      // SSRF guard: the ML server downloads whatever URL it gets, so only our own storage is accepted.
      key = deps.storage.keyFromUrl(body.video_url) ?? undefined;
      if (key === undefined) {
        throw new ApiError('VALIDATION_ERROR', 'video_url must point into this service\'s own storage.', {
          details: [{ path: 'video_url', message: 'not a URL of this service\'s storage' }],
        });
      }
    }
    if (key === undefined || !isSafeKey(key)) throw new ApiError('FILE_NOT_FOUND', 'No uploaded file with this key.');
    // With auth on, a user may only process what they uploaded themselves.
    if (authEnabled(config.auth) && !key.startsWith(`videos/${ownerSegment(owner)}/`)) {
      throw new ApiError('FILE_NOT_FOUND', 'No uploaded file with this key.');
    }
    const info = await deps.storage.head(key);
    if (!info) throw new ApiError('FILE_NOT_FOUND', 'No uploaded file with this key.');
    if (info.size > config.storage.maxUploadBytes) {
      throw new ApiError('PAYLOAD_TOO_LARGE', `The file is larger than ${config.storage.maxUploadBytes} bytes.`);
    }
    if (info.contentType !== undefined && !isMediaType(info.contentType)) {
      throw new ApiError('UNSUPPORTED_MEDIA_TYPE', 'Only video and audio files can be processed.');
    }
    const { row, created } = await jobs.create({
      id: randomUUID(),
      fileKey: key,
      fileSize: info.size,
      contentType: info.contentType ?? null,
      language: body.language,
      owner,
      idempotencyKey: c.req.valid('header')['idempotency-key'] ?? null,
      callbackToken: randomBytes(24).toString('base64url'),
      videoUrl: null,
    });
    if (created) {
      deps.logger.info('job created', { request_id: c.get('requestId'), job_id: row.id, size: info.size });
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
    const authorization = c.req.header('authorization');
    c.header('Cache-Control', 'no-cache');
    const ifNoneMatch = c.req.valid('header')['if-none-match'];
    if (ifNoneMatch !== undefined) {
      // The 2-second poll's common case: unchanged. Compare versions without reading the result.
      const head = await owned(job_id, authorization, jobs.getVersion);
      const etag = etagOf(head);
      if (ifNoneMatch.split(',').some((t) => t.trim() === etag)) {
        c.header('ETag', etag);
        return c.body(null, 304);
      }
    }
    const row = await ownJob(job_id, authorization);
    c.header('ETag', etagOf(row));
    return c.json(toJobStatus(row), 200);
  });

  api.openapi(r.streamJobEvents, async (c) => {
    const { job_id } = c.req.valid('param');
    const first = await ownJob(job_id, c.req.header('authorization'));
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
    const owner = await resolveOwner(config.auth, c.req.header('authorization'));
    const row = await jobs.cancel(job_id, authEnabled(config.auth) ? owner : undefined);
    deps.logger.info('job cancelled', { request_id: c.get('requestId'), job_id: row.id });
    return c.json({ job_id: row.id, status: 'cancelled' as const, message: 'Job cancelled.' }, 200);
  });

  api.openapi(r.listJobs, async (c) => {
    requireAdmin(config.auth.adminToken, c.req.header('authorization'));
    const { status, limit, offset } = c.req.valid('query');
    const { rows, total } = await jobs.list({ status, limit, offset });
    return c.json({ jobs: rows.map(toJobSummary), total, limit, offset }, 200);
  });
}
