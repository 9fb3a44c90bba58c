/** generateUploadUrl (CONTRACT.md, "Backend endpoints"; "Security, decided": uploads). */
import { createHash, randomBytes } from 'node:crypto';
import type { OpenAPIHono } from '@hono/zod-openapi';
import type { AppEnv, RouteContext } from '../app.js';
import { ApiError } from '../errors.js';
import type * as v11 from '../generated/v1.1/routes.js';
import { resolveOwner } from '../http/auth.js';
import { contentTypeFor, isMediaType } from '../storage/media.js';

/** `my video (1).MP4` -> `my_video_1_.MP4`; no path, no `..`, at most 120 characters. */
export function sanitizeFilename(name: string): string {
  const base = name.split(/[\\/]/).at(-1) ?? '';
  const cleaned = base
    .normalize('NFKC')
    .replace(/[^A-Za-z0-9._-]+/g, '_')
    .replace(/\.{2,}/g, '.')
    .replace(/^[._]+/, '')
    .slice(-120);
  return cleaned === '' ? 'video' : cleaned;
}

/**
 * The folder of an owner's uploads. It must not be shared by two owners (request-process lets a user
 * process only keys under their own folder), so an owner that is not already a plain short name is
 * replaced by a hash of it instead of being "cleaned" (which would make `a.b` and `a_b` the same).
 */
export const ownerSegment = (owner: string | null) =>
  owner === null ? 'anonymous' : /^[A-Za-z0-9-]{1,64}$/.test(owner) && owner !== 'anonymous' ? owner : `u_${createHash('sha256').update(owner).digest('hex').slice(0, 32)}`;

/** `videos/{owner or "anonymous"}/{YYYYmmdd_HHMMSS UTC}_{8 hex}_{sanitised filename}` */
export function uploadKey(owner: string | null, filename: string, now = new Date()): string {
  const stamp = now.toISOString().replace(/[-:]/g, '').replace('T', '_').slice(0, 15);
  return `videos/${ownerSegment(owner)}/${stamp}_${randomBytes(4).toString('hex')}_${sanitizeFilename(filename)}`;
}

export function registerUploadRoutes(api: OpenAPIHono<AppEnv>, r: typeof v11, { deps }: RouteContext) {
  const { storage: storageConfig } = deps.config;
  api.openapi(r.generateUploadUrl, async (c) => {
    const owner = await resolveOwner(deps.config.auth, c.req.header('authorization'));
    const body = c.req.valid('json');
    const filename = (body.filename ?? body.file_name)!;
    const requested = [body.content_type, body.filetype, body.file_type].find((t) => t !== undefined && t.trim() !== '');
    const contentType = requested?.trim().toLowerCase() ?? contentTypeFor(filename);
    if (!contentType || !isMediaType(contentType)) {
      throw new ApiError('UNSUPPORTED_MEDIA_TYPE', 'Only video and audio files can be uploaded.', { content_type: contentType ?? null });
    }
    if (body.file_size !== undefined && body.file_size > storageConfig.maxUploadBytes) {
      throw new ApiError('PAYLOAD_TOO_LARGE', `The file is larger than ${storageConfig.maxUploadBytes} bytes.`);
    }
    const key = uploadKey(owner, filename);
    const upload = await deps.storage.presignUpload(key, {
      contentType,
      maxBytes: storageConfig.maxUploadBytes,
      expiresIn: storageConfig.presignExpiresIn,
    });
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
        max_bytes: storageConfig.maxUploadBytes,
      },
      200,
    );
  });
}
