/** A fake backend and storage in one Hono app, recording what the SDK sent; storage lives under /storage. */
import { Hono } from 'hono';

export const JOB = '550e8400-e29b-41d4-a716-446655440000';
export const KEY = 'videos/anonymous/20250911_034548_1a2b3c4d_clip.mp4';

export interface Put {
  headers: Headers;
  bytes: Uint8Array;
}

/** A fake backend + storage in one Hono app; storage lives under /storage. */
export function fakeBackend(opts: { putStatus?: number; storageOrigin?: string; extraSignedHeaders?: Record<string, string> } = {}) {
  const app = new Hono();
  const seen = {
    generate: [] as { body: Record<string, unknown>; auth: string | undefined }[],
    puts: [] as Put[],
    process: [] as { body: Record<string, unknown>; auth: string | undefined; idem: string | undefined }[],
  };
  app.post('/api/upload-video/generate-url', async (c) => {
    const body = await c.req.json<Record<string, unknown>>();
    seen.generate.push({ body, auth: c.req.header('authorization') });
    const origin = opts.storageOrigin ?? new URL(c.req.url).origin;
    const url = `${origin}/storage/${KEY}?X-Amz-Signature=abc`;
    const type = typeof body['content_type'] === 'string' ? body['content_type'] : 'video/mp4';
    return c.json({
      presigned_url: url,
      upload_url: url,
      url,
      file_key: KEY,
      fileKey: KEY,
      expires_in: 3600,
      method: 'PUT',
      headers: { 'Content-Type': type, ...opts.extraSignedHeaders },
      content_type: type,
      max_bytes: 2 * 1024 ** 3,
    });
  });
  app.put('/storage/*', async (c) => {
    const bytes = new Uint8Array(await c.req.arrayBuffer());
    seen.puts.push({ headers: new Headers(c.req.raw.headers), bytes });
    return c.body(null, (opts.putStatus ?? 200) as 200);
  });
  app.post('/api/upload-video/request-process', async (c) => {
    const body = await c.req.json<Record<string, unknown>>();
    seen.process.push({ body, auth: c.req.header('authorization'), idem: c.req.header('idempotency-key') });
    return c.json({ job_id: JOB, status: 'pending', message: 'queued', estimated_time: 60, status_url: `/api/upload-video/status/${JOB}` });
  });
  return { app, seen };
}

/** `n` bytes of a repeating pattern. */
export const bytesOf = (n: number) => Uint8Array.from({ length: n }, (_, i) => i % 251);
