/** generateUploadUrl: where to PUT a video, under the caller's own folder; and resumable multipart uploads (docs/storage.md). */
import type { OpenAPIHono } from '@hono/zod-openapi';
import type { AppEnv, RouteContext } from '../context.js';
import { findMultipartUpload, planMultipartUpload, planUpload } from '../domain/uploads.js';
import type * as v11 from '../generated/v1.1/routes.js';
import { authEnabled, resolveOwner } from '../http/auth.js';
import { checkCompletion } from '../storage/multipart.js';
import type { S3Storage } from '../storage/s3.js';

export function registerUploadRoutes(api: OpenAPIHono<AppEnv>, r: typeof v11, { deps, uploads, clientKey }: RouteContext) {
  const { storage: limits } = deps.config;
  const ownerRuleOn = authEnabled(deps.config.auth);
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
    const signing = { contentType, maxBytes, expiresIn: limits.presignExpiresIn };
    if (body.upload_method === 'post' && deps.storage.kind === 's3' && 'presignPost' in deps.storage) {
      const form = await (deps.storage as S3Storage).presignPost(key, signing);
      const urls = { presigned_url: form.url, upload_url: form.url, url: form.url };
      const keys = { file_key: key, fileKey: key };
      return c.json(
        { ...urls, ...keys, expires_in: form.expiresIn, method: 'POST' as const, fields: form.fields, headers: { 'Content-Type': contentType }, content_type: contentType, max_bytes: maxBytes },
        200,
      );
    }
    const upload = await deps.storage.presignUpload(key, signing);
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

  api.openapi(r.createMultipartUpload, async (c) => {
    const owner = await resolveOwner(deps.config.auth, c.req.header('authorization'));
    const body = c.req.valid('json');
    const { key, plan } = planMultipartUpload(
      owner,
      { filename: body.filename, contentType: body.content_type, size: body.file_size },
      limits.maxUploadBytes,
      body.part_size,
    );
    const upload = await deps.storage.multipart.create(key, plan);
    return c.json(
      {
        file_key: key,
        upload_id: upload.uploadId,
        part_size: plan.partSize,
        part_count: plan.partCount,
        file_size: plan.size,
        content_type: plan.contentType,
        max_bytes: limits.maxUploadBytes,
      },
      200,
    );
  });

  /** The upload a request names, when the caller may use it. */
  const uploadOf = async (authorization: string | undefined, ref: { file_key: string; upload_id: string }) => {
    const owner = await resolveOwner(deps.config.auth, authorization);
    return findMultipartUpload(deps.storage, ownerRuleOn, owner, ref.file_key, ref.upload_id);
  };

  api.openapi(r.presignUploadParts, async (c) => {
    const body = c.req.valid('json');
    const upload = await uploadOf(c.req.header('authorization'), body);
    const parts = await deps.storage.multipart.presignParts(upload, body.part_numbers, limits.presignExpiresIn);
    return c.json(
      { parts: parts.map((p) => ({ part_number: p.partNumber, url: p.url, method: p.method, size: p.size })), expires_in: limits.presignExpiresIn },
      200,
    );
  });

  api.openapi(r.listUploadedParts, async (c) => {
    const body = c.req.valid('json');
    const upload = await uploadOf(c.req.header('authorization'), body);
    const parts = await deps.storage.multipart.listParts(upload);
    return c.json(
      {
        file_key: upload.key,
        upload_id: upload.uploadId,
        parts: parts.map((p) => ({ part_number: p.partNumber, size: p.size, etag: p.etag })),
        part_size: upload.partSize,
        part_count: upload.partCount,
        file_size: upload.size,
      },
      200,
    );
  });

  api.openapi(r.completeMultipartUpload, async (c) => {
    const body = c.req.valid('json');
    const upload = await uploadOf(c.req.header('authorization'), body);
    const parts = checkCompletion(upload, await deps.storage.multipart.listParts(upload));
    const info = await deps.storage.multipart.complete(upload, parts);
    return c.json({ file_key: upload.key, fileKey: upload.key, file_size: info.size, content_type: info.contentType ?? upload.contentType }, 200);
  });

  api.openapi(r.abortMultipartUpload, async (c) => {
    const body = c.req.valid('json');
    const upload = await uploadOf(c.req.header('authorization'), body);
    await deps.storage.multipart.abort(upload);
    return c.json({ file_key: upload.key, upload_id: upload.uploadId, status: 'aborted' as const }, 200);
  });
}
