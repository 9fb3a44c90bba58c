/** generateUploadUrl: where to PUT a video, under the caller's own folder (docs/storage.md). */
import type { OpenAPIHono } from '@hono/zod-openapi';
import type { AppEnv, RouteContext } from '../context.js';
import { planUpload } from '../domain/uploads.js';
import type * as v11 from '../generated/v1.1/routes.js';
import { resolveOwner } from '../http/auth.js';

export function registerUploadRoutes(api: OpenAPIHono<AppEnv>, r: typeof v11, { deps, uploads, clientKey }: RouteContext) {
  const { storage: limits } = deps.config;
  api.openapi(r.generateUploadUrl, async (c) => {
    const owner = await resolveOwner(deps.config.auth, c.req.header('authorization'));
    const body = c.req.valid('json');
    // Every name the original frontends used for the same field; the first non-empty one counts.
    const { key, contentType } = planUpload(
      owner,
      {
        filename: (body.filename ?? body.file_name)!,
        contentType: [body.content_type, body.filetype, body.file_type].find((t) => t !== undefined && t.trim() !== ''),
        size: body.file_size,
      },
      limits.maxUploadBytes,
    );
    // A declared size is what the URL accepts and what the client's hourly quota is charged (docs/limits.md).
    const maxBytes = body.file_size !== undefined && body.file_size > 0 ? Math.min(body.file_size, limits.maxUploadBytes) : limits.maxUploadBytes;
    uploads.reserve(clientKey(c, owner), maxBytes);
    const upload = await deps.storage.presignUpload(key, { contentType, maxBytes, expiresIn: limits.presignExpiresIn });
    return c.json(
      {
        presigned_url: upload.url,
        upload_url: upload.url,
        url: upload.url,
        file_key: key,
        fileKey: key,
        expires_in: upload.expiresIn,
        method: 'PUT' as const,
        headers: { ...upload.headers, 'Content-Type': contentType },
        content_type: contentType,
        max_bytes: maxBytes,
      },
      200,
    );
  });
}
