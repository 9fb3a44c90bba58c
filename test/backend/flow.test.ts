import { randomUUID } from 'node:crypto';
import { sign } from 'hono/jwt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../server/config.js';
import { ownerSegment } from '../../server/domain/uploads.js';
import { createTestApp, type TestApp } from '../support/app.js';

let t: TestApp;
beforeAll(async () => {
  t = await createTestApp();
});
afterAll(async () => t.close());

describe('generateUploadUrl', () => {
  it('answers every URL and key alias with the same value and a key in the documented format', async () => {
    const { data, response } = await t.client.POST('/api/upload-video/generate-url', { body: { filename: '../../etc/my video (1).mp4', content_type: 'video/mp4' } });
    expect(response.status).toBe(200);
    expect(data!.upload_url).toBe(data!.presigned_url);
    expect(data!.url).toBe(data!.presigned_url);
    expect(data!.fileKey).toBe(data!.file_key);
    expect(data!.file_key).toMatch(/^videos\/anonymous\/\d{8}_\d{6}_[0-9a-f]{8}_my_video_1_\.mp4$/);
    expect(data!.headers['Content-Type']).toBe('video/mp4');
    expect(data!.expires_in).toBe(3600);
  });

  it('accepts the legacy names file_name and filetype, and infers the content type when it is empty', async () => {
    const legacy = await t.client.POST('/api/upload-video/generate-url', { body: { file_name: 'a.webm', filetype: 'video/webm' } });
    expect(legacy.response.status).toBe(200);
    expect(legacy.data!.content_type).toBe('video/webm');
    const inferred = await t.client.POST('/api/upload-video/generate-url', { body: { filename: 'talk.mp3', content_type: '' } });
    expect(inferred.response.status).toBe(200);
    expect(inferred.data!.content_type).toBe('audio/mpeg');
  });

  it('refuses HTML and unknown extensions with UNSUPPORTED_MEDIA_TYPE', async () => {
    const html = await t.client.POST('/api/upload-video/generate-url', { body: { filename: 'x.html', content_type: 'text/html' } });
    expect(html.response.status).toBe(415);
    expect(html.error).toMatchObject({ error: 'UNSUPPORTED_MEDIA_TYPE' });
    const unknown = await t.client.POST('/api/upload-video/generate-url', { body: { filename: 'x.exe' } });
    expect(unknown.response.status).toBe(415);
  });

  it('refuses a declared size over the limit with PAYLOAD_TOO_LARGE', async () => {
    const { response, error } = await t.client.POST('/api/upload-video/generate-url', { body: { filename: 'big.mp4', file_size: 3 * 1024 ** 3 } });
    expect(response.status).toBe(413);
    expect(error).toMatchObject({ error: 'PAYLOAD_TOO_LARGE' });
  });

  it('gives a URL whose PUT answers 200 and stores the bytes', async () => {
    const bytes = new TextEncoder().encode('not really a video, but bytes');
    const key = await t.upload(bytes);
    const { data } = await t.client.POST('/api/upload-video/request-process', { body: { fileKey: key } });
    expect(data!.status).toBe('pending');
  });
});

describe('requestProcess', () => {
  it('stores the job before answering, with language auto by default', async () => {
    const key = await t.upload();
    const { data, response } = await t.client.POST('/api/upload-video/request-process', { body: { fileKey: key } });
    expect(response.status).toBe(200);
    expect(data!.status_url).toBe(`/api/upload-video/status/${data!.job_id}`);
    expect(data!.estimated_time).toBeGreaterThan(0);
    const status = await t.client.GET('/api/upload-video/status/{job_id}', { params: { path: { job_id: data!.job_id } } });
    expect(status.response.status).toBe(200);
    expect(status.data).toMatchObject({ job_id: data!.job_id, status: 'pending', progress: 0, language: 'auto' });
  });

  it('accepts file_key, an own-storage video_url, and ignores unknown fields', async () => {
    const key = await t.upload();
    const byAlias = await t.client.POST('/api/upload-video/request-process', { body: { file_key: key, language: 'ko', extra: 1 } as never });
    expect(byAlias.response.status).toBe(200);
    const url = `http://backend.test/storage/${key}`;
    const byUrl = await t.client.POST('/api/upload-video/request-process', { body: { video_url: url } });
    expect(byUrl.response.status).toBe(200);
  });

  it('refuses a video_url outside our storage (server-side request forgery)', async () => {
    const { response, error } = await t.client.POST('/api/upload-video/request-process', { body: { video_url: 'http://169.254.169.254/latest/meta-data' } });
    expect(response.status).toBe(422);
    expect(error).toMatchObject({ error: 'VALIDATION_ERROR' });
  });

  it('answers FILE_NOT_FOUND for a key nothing was uploaded to', async () => {
    const { response, error } = await t.client.POST('/api/upload-video/request-process', { body: { fileKey: `videos/anonymous/${randomUUID()}.mp4` } });
    expect(response.status).toBe(404);
    expect(error).toMatchObject({ error: 'FILE_NOT_FOUND' });
  });

  it('returns the same job for a repeated Idempotency-Key', async () => {
    const key = await t.upload();
    const idem = randomUUID();
    const first = await t.client.POST('/api/upload-video/request-process', { body: { fileKey: key }, params: { header: { 'Idempotency-Key': idem } } });
    const again = await t.client.POST('/api/upload-video/request-process', { body: { fileKey: key }, params: { header: { 'Idempotency-Key': idem } } });
    expect(again.data!.job_id).toBe(first.data!.job_id);
  });
});

describe('getJobStatus', () => {
  it('answers 304 to If-None-Match with the current ETag, and 200 after a change', async () => {
    const key = await t.upload();
    const { data } = await t.client.POST('/api/upload-video/request-process', { body: { fileKey: key } });
    const path = `http://backend.test/api/upload-video/status/${data!.job_id}`;
    const first = await t.fetch(path);
    const etag = first.headers.get('etag')!;
    expect(etag).toBeTruthy();
    const same = await t.fetch(path, { headers: { 'If-None-Match': etag } });
    expect(same.status).toBe(304);
    await t.client.POST('/api/upload-video/cancel/{job_id}', { params: { path: { job_id: data!.job_id } } });
    const changed = await t.fetch(path, { headers: { 'If-None-Match': etag } });
    expect(changed.status).toBe(200);
    expect(changed.headers.get('etag')).not.toBe(etag);
  });

  it('answers JOB_NOT_FOUND for an unknown id and VALIDATION_ERROR for a malformed one', async () => {
    const unknown = await t.client.GET('/api/upload-video/status/{job_id}', { params: { path: { job_id: randomUUID() } } });
    expect(unknown.response.status).toBe(404);
    expect(unknown.error).toMatchObject({ error: 'JOB_NOT_FOUND' });
    const malformed = await t.client.GET('/api/upload-video/status/{job_id}', { params: { path: { job_id: 'not-a-uuid' } } });
    expect(malformed.response.status).toBe(422);
    expect(malformed.error).toMatchObject({ error: 'VALIDATION_ERROR' });
  });
});

describe('cancelJob', () => {
  it('cancels a pending job, answers the same when repeated, and refuses unknown jobs', async () => {
    const key = await t.upload();
    const { data } = await t.client.POST('/api/upload-video/request-process', { body: { fileKey: key } });
    const job_id = data!.job_id;
    const first = await t.client.POST('/api/upload-video/cancel/{job_id}', { params: { path: { job_id } } });
    expect(first.data).toMatchObject({ job_id, status: 'cancelled' });
    const again = await t.client.POST('/api/upload-video/cancel/{job_id}', { params: { path: { job_id } } });
    expect(again.response.status).toBe(200);
    const status = await t.client.GET('/api/upload-video/status/{job_id}', { params: { path: { job_id } } });
    expect(status.data!.status).toBe('cancelled');
    const unknown = await t.client.POST('/api/upload-video/cancel/{job_id}', { params: { path: { job_id: randomUUID() } } });
    expect(unknown.response.status).toBe(404);
  });
});

describe('listJobs', () => {
  it('does not exist without ADMIN_TOKEN', async () => {
    const { response, error } = await t.client.GET('/api/upload-video/jobs');
    expect(response.status).toBe(404);
    expect(error).toMatchObject({ error: 'NOT_FOUND' });
  });

  it('lists and filters with the admin token, and refuses anyone else', async () => {
    const admin = 'admin-token-0123456789abcdef';
    const a = await createTestApp({ ADMIN_TOKEN: admin });
    try {
      const key = await a.upload();
      const { data: job } = await a.client.POST('/api/upload-video/request-process', { body: { fileKey: key } });
      const denied = await a.client.GET('/api/upload-video/jobs', { headers: { Authorization: 'Bearer wrong' } });
      expect(denied.response.status).toBe(401);
      const page = await a.client.GET('/api/upload-video/jobs', { params: { query: { status: 'pending', limit: 100 } }, headers: { Authorization: `Bearer ${admin}` } });
      expect(page.response.status).toBe(200);
      expect(page.data!.limit).toBe(100);
      expect(page.data!.jobs.some((j) => j.job_id === job!.job_id)).toBe(true);
      expect(page.data!.jobs.every((j) => j.status === 'pending')).toBe(true);
      const bad = await a.client.GET('/api/upload-video/jobs', { params: { query: { limit: 1000 } }, headers: { Authorization: `Bearer ${admin}` } });
      expect(bad.response.status).toBe(422);
    } finally {
      await a.close();
    }
  });
});

describe('authentication, when configured', () => {
  it('requires a token, scopes jobs to their owner and hides other users\' jobs as 404', async () => {
    const secret = 'jwt-secret-0123456789abcdef';
    const a = await createTestApp({ JWT_SECRET: secret });
    try {
      const alice = await sign({ sub: 'alice', exp: Math.floor(Date.now() / 1000) + 600 }, secret, 'HS256');
      const bob = await sign({ sub: 'bob', exp: Math.floor(Date.now() / 1000) + 600 }, secret, 'HS256');
      const anonymous = await a.client.POST('/api/upload-video/generate-url', { body: { filename: 'a.mp4' } });
      expect(anonymous.response.status).toBe(401);
      expect(anonymous.error).toMatchObject({ error: 'UNAUTHORIZED' });
      const key = await a.upload(undefined, 'a.mp4', 'video/mp4', alice);
      expect(key.startsWith('videos/alice/')).toBe(true);
      const { data } = await a.client.POST('/api/upload-video/request-process', { body: { fileKey: key }, headers: { Authorization: `Bearer ${alice}` } });
      const mine = await a.client.GET('/api/upload-video/status/{job_id}', { params: { path: { job_id: data!.job_id } }, headers: { Authorization: `Bearer ${alice}` } });
      expect(mine.response.status).toBe(200);
      const theirs = await a.client.GET('/api/upload-video/status/{job_id}', { params: { path: { job_id: data!.job_id } }, headers: { Authorization: `Bearer ${bob}` } });
      expect(theirs.response.status).toBe(404);
      const stolen = await a.client.POST('/api/upload-video/request-process', { body: { fileKey: key }, headers: { Authorization: `Bearer ${bob}` } });
      expect(stolen.response.status).toBe(404);
      const forged = await sign({ sub: 'alice' }, 'another-secret-0123456789', 'HS256');
      const refused = await a.client.GET('/api/upload-video/status/{job_id}', { params: { path: { job_id: data!.job_id } }, headers: { Authorization: `Bearer ${forged}` } });
      expect(refused.response.status).toBe(401);
    } finally {
      await a.close();
    }
  });
});

describe('rate limiting', () => {
  it('answers the sixth request-process in a minute with 429, Retry-After and RATE_LIMITED', async () => {
    const a = await createTestApp({ RATE_LIMIT_PER_MINUTE: '5' }, undefined, { isolatedDatabase: true });
    try {
      const key = await a.upload();
      for (let i = 0; i < 5; i++) {
        const ok = await a.client.POST('/api/upload-video/request-process', { body: { fileKey: key } });
        expect(ok.response.status).toBe(200);
      }
      const limited = await a.client.POST('/api/upload-video/request-process', { body: { fileKey: key } });
      expect(limited.response.status).toBe(429);
      expect(Number(limited.response.headers.get('retry-after'))).toBeGreaterThan(0);
      expect(limited.error).toMatchObject({ error: 'RATE_LIMITED' });
    } finally {
      await a.close();
    }
  });
});

describe('health', () => {
  it('reports the database and the storage up', async () => {
    const { data, response } = await t.client.GET('/health');
    expect(response.status).toBe(200);
    expect(data).toMatchObject({ status: 'ok', checks: { database: { status: 'up' }, storage: { status: 'up' } } });
  });

  it('reports the ML server healthy through its /health', async () => {
    const { data } = await t.client.GET('/api/upload-video/ml-server/health');
    expect(data).toMatchObject({ status: 'healthy', http_status: 200 });
  });
});

describe('CORS', () => {
  it('answers a preflight for the API', async () => {
    const res = await t.fetch('http://backend.test/api/upload-video/generate-url', {
      method: 'OPTIONS',
      headers: { Origin: 'http://localhost:3000', 'Access-Control-Request-Method': 'POST', 'Access-Control-Request-Headers': 'content-type,authorization' },
    });
    expect(res.status).toBeLessThan(300);
    expect(res.headers.get('access-control-allow-origin')).toBeTruthy();
  });
});

describe('owner folders', () => {
  it('never gives two owners the same upload folder', () => {
    const owners = ['john.doe', 'john_doe', 'john@doe', 'anonymous', 'token:abcd', 'token_abcd', 'a'.repeat(64) + 'x', 'a'.repeat(64) + 'y', 'alice'];
    const segments = owners.map(ownerSegment);
    expect(new Set(segments).size).toBe(owners.length);
    expect(ownerSegment('alice')).toBe('alice');
    expect(ownerSegment(null)).toBe('anonymous');
    expect(segments.every((s) => /^[A-Za-z0-9_-]{1,64}$/.test(s))).toBe(true);
  });
});

describe('configuration', () => {
  it('refuses a v1.0 ML server without a way to authenticate its callbacks', () => {
    expect(() => loadConfig({ ML_API_VERSION: 'v1.0' })).toThrow(/ML_API_VERSION: v1.0 ML servers cannot use per-job callback URLs/);
    expect(loadConfig({ ML_API_VERSION: 'v1.0', WEBHOOK_SECRET: 'x' }).ml.apiVersion).toBe('v1.0');
    expect(loadConfig({ ML_API_VERSION: 'v1.0', ALLOW_UNSIGNED_CALLBACKS: 'true' }).webhooks.allowUnsigned).toBe(true);
  });

  it('reads the names of the original backend', () => {
    const c = loadConfig({ ml_api_server_url: 'http://ml:8080/', webhook_secret_key: 'legacy', S3_PRESIGNED_URL_EXPIRE: '600' });
    expect(c.ml.baseUrl).toBe('http://ml:8080');
    expect(c.webhooks.secret).toBe('legacy');
    expect(c.storage.presignExpiresIn).toBe(600);
  });
});
