/** getJobVideo: a presigned GET of a job's uploaded video, for its owner (docs/storage.md). */
import type { OpenAPIHono } from '@hono/zod-openapi';
import type { AppEnv, RouteContext } from '../context.js';
import { ownedJob } from '../domain/jobs.js';
import { ApiError } from '../errors.js';
import type * as v11 from '../generated/v1.1/routes.js';
import { resolveOwner } from '../http/auth.js';

export function registerVideoRoutes(api: OpenAPIHono<AppEnv>, r: typeof v11, { deps, jobs }: RouteContext) {
  const { config, storage } = deps;
  api.openapi(r.getJobVideo, async (c) => {
    const { job_id } = c.req.valid('param');
    const caller = await resolveOwner(config.auth, c.req.header('authorization'));
    const row = await ownedJob({ config }, caller, job_id, (id) => jobs.get(id));
    if (row.videoDeleted) throw new ApiError('FILE_NOT_FOUND', 'The job\'s video was deleted by retention (RETENTION_DAYS).');
    // The upload URL's lifetime: long enough to watch a video, short enough to stop sharing it.
    const expiresIn = config.storage.presignExpiresIn;
    const videoUrl = await storage.presignDownload(row.fileKey, { expiresIn });
    // A signed URL is a credential for its lifetime: not for shared caches.
    c.header('Cache-Control', 'private, no-store');
    return c.json({ job_id: row.id, video_url: videoUrl, expires_in: expiresIn }, 200);
  });
}
