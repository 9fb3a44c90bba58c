import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { Hono } from 'hono';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { createBackendClient, EcgApiError, type JobStatusResponse, type UploadProgress } from '../../sdk/src/index.js';
import { appFetch, eventStream, jobStatus, listen, sampleResult, sse, type Served } from './helpers.js';

const JOB = '550e8400-e29b-41d4-a716-446655440000';
const KEY = 'videos/anonymous/20250911_034548_1a2b3c4d_clip.mp4';

interface Put {
  headers: Headers;
  bytes: Uint8Array;
}

/** A fake backend + storage in one Hono app; storage lives under /storage. */
function fakeBackend(opts: { putStatus?: number; storageOrigin?: string; extraSignedHeaders?: Record<string, string> } = {}) {
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

const bytesOf = (n: number) => Uint8Array.from({ length: n }, (_, i) => i % 251);

let served: Served | undefined;
afterEach(async () => {
  await served?.close();
  served = undefined;
  vi.unstubAllGlobals();
});

describe('uploadVideo', () => {
  it('PUTs the bytes with the signed headers, never Authorization, reports progress and returns the key', async () => {
    const { app, seen } = fakeBackend({ extraSignedHeaders: { 'x-amz-meta-owner': 'anonymous', Authorization: 'leak' } });
    const ecg = createBackendClient({ baseUrl: 'http://backend.test/', token: 'secret-token', fetch: appFetch(app) });
    const data = bytesOf(300_000);
    const progress: UploadProgress[] = [];
    const key = await ecg.uploadVideo(data, { filename: 'clip.mp4', contentType: 'video/mp4', onProgress: (p) => progress.push(p) });

    expect(key).toBe(KEY);
    expect(seen.generate).toHaveLength(1);
    expect(seen.generate[0]?.auth).toBe('Bearer secret-token');
    expect(seen.generate[0]?.body).toMatchObject({ filename: 'clip.mp4', content_type: 'video/mp4', file_size: data.byteLength });
    expect(seen.puts).toHaveLength(1);
    const put = seen.puts[0] as Put;
    expect(put.headers.get('content-type')).toBe('video/mp4');
    expect(put.headers.get('x-amz-meta-owner')).toBe('anonymous');
    expect(put.headers.get('authorization')).toBeNull();
    expect(Buffer.from(put.bytes).equals(Buffer.from(data))).toBe(true);
    expect(progress[0]).toEqual({ loaded: 0, total: data.byteLength, percent: 0 });
    expect(progress.at(-1)).toEqual({ loaded: data.byteLength, total: data.byteLength, percent: 100 });
    for (let i = 1; i < progress.length; i++) expect(progress[i]!.loaded).toBeGreaterThanOrEqual(progress[i - 1]!.loaded);
  });

  it.each([201, 204, 403, 500])('fails when storage answers %i (only 200 counts)', async (status) => {
    const { app } = fakeBackend({ putStatus: status });
    const ecg = createBackendClient({ baseUrl: 'http://backend.test', fetch: appFetch(app) });
    const err = await ecg.uploadVideo(bytesOf(10), { filename: 'clip.mp4' }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(EcgApiError);
    expect(err).toMatchObject({ status, code: 'UPLOAD_FAILED' });
  });

  it('takes the name and type of a File, and lets the backend infer a missing type', async () => {
    const { app, seen } = fakeBackend();
    const ecg = createBackendClient({ baseUrl: 'http://backend.test', fetch: appFetch(app) });
    await ecg.uploadVideo(new File([bytesOf(5)], 'talk.webm', { type: 'video/webm' }));
    expect(seen.generate[0]?.body).toMatchObject({ filename: 'talk.webm', content_type: 'video/webm', file_size: 5 });
    await ecg.uploadVideo(new Blob([bytesOf(5)]), { filename: 'x.mp4' });
    expect(seen.generate[1]?.body).not.toHaveProperty('content_type');
    await expect(ecg.uploadVideo(new Blob([bytesOf(5)]))).rejects.toThrow(/filename/);
  });

  it('streams a file path and a Node stream over real sockets with a Content-Length (storage needs one)', async () => {
    const { app, seen } = fakeBackend();
    served = await listen(app);
    const ecg = createBackendClient({ baseUrl: served.url, fetch: (req) => fetch(req) });
    const dir = await mkdtemp(join(tmpdir(), 'ecg-sdk-'));
    try {
      const data = bytesOf(1_000_000);
      const file = join(dir, 'lecture.mp4');
      await writeFile(file, data);
      const progress: UploadProgress[] = [];
      await ecg.uploadVideo(file, { onProgress: (p) => progress.push(p) });
      expect(seen.generate[0]?.body).toMatchObject({ filename: 'lecture.mp4', file_size: data.byteLength });
      expect(seen.puts[0]?.headers.get('content-length')).toBe(String(data.byteLength));
      expect(seen.puts[0]?.headers.get('transfer-encoding')).toBeNull();
      expect(Buffer.from(seen.puts[0]!.bytes).equals(Buffer.from(data))).toBe(true);
      expect(progress.at(-1)?.percent).toBe(100);

      await ecg.uploadVideo(Readable.from([Buffer.from(data.subarray(0, 1000)), Buffer.from(data.subarray(1000, 5000))]), {
        filename: 'stream.mp4',
        size: 5000,
      });
      expect(seen.puts[1]?.headers.get('content-length')).toBe('5000');
      expect(Buffer.from(seen.puts[1]!.bytes).equals(Buffer.from(data.subarray(0, 5000)))).toBe(true);

      // Without a size, a stream is read into memory first.
      await ecg.uploadVideo(Readable.from([Buffer.from('abc'), Buffer.from('def')]), { filename: 'small.mp4' });
      expect(Buffer.from(seen.puts[2]!.bytes).toString()).toBe('abcdef');
      expect(seen.generate[2]?.body).toMatchObject({ file_size: 6 });
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('uses XMLHttpRequest in browsers (no custom fetch): progress events, no Authorization', async () => {
    const { app, seen } = fakeBackend({ storageOrigin: 'https://bucket.storage.test' });
    served = await listen(app);
    const sent: { method: string; url: string; headers: Record<string, string>; size: number }[] = [];
    class FakeXhr {
      status = 0;
      upload: { onprogress: ((e: { loaded: number; total: number }) => void) | null } = { onprogress: null };
      onload: (() => void) | null = null;
      onerror: (() => void) | null = null;
      onabort: (() => void) | null = null;
      private req = { method: '', url: '', headers: {} as Record<string, string>, size: 0 };
      open(method: string, url: string) {
        this.req.method = method;
        this.req.url = url;
      }
      setRequestHeader(k: string, v: string) {
        this.req.headers[k.toLowerCase()] = v;
      }
      send(body: Blob) {
        this.req.size = body.size;
        sent.push(this.req);
        setTimeout(() => {
          this.upload.onprogress?.({ loaded: body.size / 2, total: body.size });
          setTimeout(() => {
            this.upload.onprogress?.({ loaded: body.size, total: body.size });
            this.status = 200;
            this.onload?.();
          }, 60);
        }, 5);
      }
      abort() {
        this.onabort?.();
      }
    }
    vi.stubGlobal('XMLHttpRequest', FakeXhr);
    const ecg = createBackendClient({ baseUrl: served.url, token: 't' });
    const progress: number[] = [];
    const key = await ecg.uploadVideo(new Blob([bytesOf(1000)], { type: 'video/mp4' }), {
      filename: 'b.mp4',
      onProgress: (p) => progress.push(p.percent),
    });
    expect(key).toBe(KEY);
    expect(seen.generate[0]?.auth).toBe('Bearer t');
    expect(seen.puts).toHaveLength(0);
    expect(sent).toEqual([
      { method: 'PUT', url: `https://bucket.storage.test/storage/${KEY}?X-Amz-Signature=abc`, headers: { 'content-type': 'video/mp4' }, size: 1000 },
    ]);
    expect(progress).toEqual([0, 50, 100]);
  });
});

describe('requestProcess, getStatus, cancel', () => {
  it('sends fileKey and language (default auto) with the token and an Idempotency-Key', async () => {
    const { app, seen } = fakeBackend();
    const ecg = createBackendClient({ baseUrl: 'http://backend.test', token: async () => 'tok', fetch: appFetch(app) });
    const job = await ecg.requestProcess({ fileKey: KEY, idempotencyKey: 'k1' });
    expect(job.job_id).toBe(JOB);
    expect(seen.process[0]).toEqual({ body: { fileKey: KEY, language: 'auto' }, auth: 'Bearer tok', idem: 'k1' });
    await ecg.requestProcess({ fileKey: KEY, language: 'ko' });
    expect(seen.process[1]?.body).toEqual({ fileKey: KEY, language: 'ko' });
    expect(seen.process[1]?.idem).toBeUndefined();
  });

  it('turns the error envelope into EcgApiError (code, message, body, Retry-After)', async () => {
    const app = new Hono();
    app.post('/api/upload-video/request-process', (c) =>
      c.json({ error: 'RATE_LIMITED', message: 'Too many requests; try again in 42 seconds.', retry_after: 42 }, 429, { 'Retry-After': '42' }),
    );
    app.get('/api/upload-video/status/:id', (c) => c.json({ error: 'JOB_NOT_FOUND', message: 'No job with this id.' }, 404));
    app.post('/api/upload-video/cancel/:id', (c) => c.json({ job_id: c.req.param('id'), status: 'cancelled', message: 'Cancelled' }));
    const ecg = createBackendClient({ baseUrl: 'http://backend.test', fetch: appFetch(app) });
    const err = await ecg.requestProcess({ fileKey: KEY }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(EcgApiError);
    expect(err).toMatchObject({ status: 429, code: 'RATE_LIMITED', message: 'Too many requests; try again in 42 seconds.', retryAfterMs: 42_000 });
    expect((err as EcgApiError).body?.retry_after).toBe(42);
    await expect(ecg.getStatus(JOB)).rejects.toMatchObject({ status: 404, code: 'JOB_NOT_FOUND' });
    await expect(ecg.cancel(JOB)).resolves.toEqual({ job_id: JOB, status: 'cancelled', message: 'Cancelled' });
  });

  it('reports a non-JSON success and a network failure as typed errors', async () => {
    const app = new Hono();
    app.get('/api/upload-video/status/:id', (c) => c.html('<html>proxy</html>'));
    const ecg = createBackendClient({ baseUrl: 'http://backend.test', fetch: appFetch(app) });
    await expect(ecg.getStatus(JOB)).rejects.toMatchObject({ status: 200, code: 'INVALID_RESPONSE' });
    const down = createBackendClient({ baseUrl: 'http://backend.test', fetch: () => Promise.reject(new TypeError('fetch failed')) });
    await expect(down.getStatus(JOB)).rejects.toMatchObject({ status: 0, code: 'NETWORK_ERROR' });
  });
});

describe('waitForJob', () => {
  it('follows Server-Sent Events (comments, CRLF, split chunks) to the terminal status, without polling', async () => {
    const app = new Hono();
    let polls = 0;
    const done = jobStatus(JOB, 'completed', 100, { result: sampleResult });
    const completedEvent = `event: status\r\ndata: ${JSON.stringify(done)}\r\n\r\n`;
    app.get('/api/upload-video/status/:id/events', (c) => {
      expect(c.req.header('accept')).toBe('text/event-stream');
      expect(c.req.header('authorization')).toBe('Bearer tok');
      return eventStream([
        ': connected\n\n',
        sse(jobStatus(JOB, 'processing', 10)).slice(0, 20),
        sse(jobStatus(JOB, 'processing', 10)).slice(20),
        'event: ping\ndata: {}\n\n',
        ': keep-alive\n\n',
        completedEvent.slice(0, completedEvent.length - 3),
        completedEvent.slice(completedEvent.length - 3),
      ], { keepOpen: true });
    });
    app.get('/api/upload-video/status/:id', (c) => {
      polls++;
      return c.json(jobStatus(JOB, 'processing', 0));
    });
    const ecg = createBackendClient({ baseUrl: 'http://backend.test', token: 'tok', fetch: appFetch(app) });
    const seen: JobStatusResponse[] = [];
    const final = await ecg.waitForJob(JOB, { onProgress: (s) => seen.push(s) });
    expect(final.status).toBe('completed');
    expect(final.result).toEqual(sampleResult);
    expect(seen.map((s) => [s.status, s.progress])).toEqual([
      ['processing', 10],
      ['completed', 100],
    ]);
    expect(polls).toBe(0);
  });

  it('reconnects when a working event stream drops', async () => {
    const app = new Hono();
    let connections = 0;
    app.get('/api/upload-video/status/:id/events', () => {
      connections++;
      return connections === 1
        ? eventStream([sse(jobStatus(JOB, 'processing', 40))])
        : eventStream([sse(jobStatus(JOB, 'processing', 40)), sse(jobStatus(JOB, 'failed', 40, { error_code: 'DOWNLOAD_ERROR' }))]);
    });
    const ecg = createBackendClient({ baseUrl: 'http://backend.test', fetch: appFetch(app) });
    const final = await ecg.waitForJob(JOB, { intervalMs: 10 });
    expect(final).toMatchObject({ status: 'failed', error_code: 'DOWNLOAD_ERROR' });
    expect(connections).toBe(2);
  });

  it('falls back to polling with If-None-Match when there is no event stream, and 304 is quiet', async () => {
    const app = new Hono();
    const ifNoneMatch: (string | undefined)[] = [];
    let n = 0;
    app.get('/api/upload-video/status/:id/events', (c) => c.json({ error: 'NOT_FOUND', message: 'No such route.' }, 404));
    app.get('/api/upload-video/status/:id', (c) => {
      ifNoneMatch.push(c.req.header('if-none-match'));
      n++;
      if (n === 1) return c.json(jobStatus(JOB, 'processing', 20), 200, { ETag: '"v1"' });
      if (n <= 3) return c.body(null, 304, { ETag: '"v1"' });
      return c.json(jobStatus(JOB, 'completed', 100, { result: sampleResult }), 200, { ETag: '"v2"' });
    });
    const ecg = createBackendClient({ baseUrl: 'http://backend.test', fetch: appFetch(app) });
    const seen: string[] = [];
    const final = await ecg.waitForJob(JOB, { intervalMs: 5, onProgress: (s) => seen.push(`${s.status}:${s.progress}`) });
    expect(final.result?.text).toBe('Hello there.');
    expect(ifNoneMatch).toEqual([undefined, '"v1"', '"v1"', '"v1"']);
    expect(seen).toEqual(['processing:20', 'completed:100']);
  });

  it('backs off exponentially on 503, 429 and network errors, then succeeds', async () => {
    const app = new Hono();
    const at: number[] = [];
    let n = 0;
    app.get('/api/upload-video/status/:id', (c) => {
      at.push(Date.now());
      n++;
      if (n <= 2) return c.json({ error: 'SERVICE_UNAVAILABLE', message: 'Try later.' }, 503);
      if (n === 3) return c.json({ error: 'RATE_LIMITED', message: 'Slow down.' }, 429, { 'Retry-After': '0' });
      return c.json(jobStatus(JOB, 'completed', 100, { result: sampleResult }));
    });
    let calls = 0;
    const flaky = (req: Request) => (++calls === 1 ? Promise.reject(new TypeError('fetch failed')) : Promise.resolve(app.fetch(req)));
    const ecg = createBackendClient({ baseUrl: 'http://backend.test', fetch: flaky });
    const started = Date.now();
    const final = await ecg.waitForJob(JOB, { sse: false, intervalMs: 20 });
    expect(final.status).toBe('completed');
    expect(n).toBe(4);
    // Four failures in a row: waits of at least 10, 20, 40, 80 ms (jitter keeps at least half).
    expect(Date.now() - started).toBeGreaterThanOrEqual(140);
    expect(at[2]! - at[1]!).toBeGreaterThanOrEqual(15);
  });

  it('gives up after maxRetries consecutive transient errors', async () => {
    const app = new Hono();
    app.get('/api/upload-video/status/:id', (c) => c.json({ error: 'INTERNAL_ERROR', message: 'Boom.' }, 500));
    const ecg = createBackendClient({ baseUrl: 'http://backend.test', fetch: appFetch(app) });
    await expect(ecg.waitForJob(JOB, { sse: false, intervalMs: 1, maxRetries: 2 })).rejects.toMatchObject({ status: 500, code: 'INTERNAL_ERROR' });
  });

  it('rejects with JOB_NOT_FOUND on 404', async () => {
    const app = new Hono();
    app.get('/api/upload-video/status/:id/*', (c) => c.json({ error: 'JOB_NOT_FOUND', message: 'No job.' }, 404));
    app.get('/api/upload-video/status/:id', (c) => c.json({ error: 'JOB_NOT_FOUND', message: 'No job.' }, 404));
    const ecg = createBackendClient({ baseUrl: 'http://backend.test', fetch: appFetch(app) });
    const err = await ecg.waitForJob(JOB).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(EcgApiError);
    expect(err).toMatchObject({ status: 404, code: 'JOB_NOT_FOUND' });
  });

  it('stops when the signal aborts, on an open event stream and while polling', async () => {
    const app = new Hono();
    app.get('/api/upload-video/status/:id/events', () => eventStream([sse(jobStatus(JOB, 'processing', 5))], { keepOpen: true }));
    app.get('/api/upload-video/status/:id', (c) => c.json(jobStatus(JOB, 'processing', 5)));
    const ecg = createBackendClient({ baseUrl: 'http://backend.test', fetch: appFetch(app) });

    const a = new AbortController();
    const pending = ecg.waitForJob(JOB, { signal: a.signal });
    setTimeout(() => a.abort(), 50);
    await expect(pending).rejects.toMatchObject({ name: 'AbortError' });

    const b = new AbortController();
    const polling = ecg.waitForJob(JOB, { sse: false, intervalMs: 10_000, signal: b.signal });
    setTimeout(() => b.abort(new Error('user left')), 50);
    await expect(polling).rejects.toThrow('user left');
  });

  it('drops a silent event stream and polls instead', async () => {
    const app = new Hono();
    app.get('/api/upload-video/status/:id/events', () => eventStream([], { keepOpen: true }));
    app.get('/api/upload-video/status/:id', (c) => c.json(jobStatus(JOB, 'cancelled', 30)));
    const ecg = createBackendClient({ baseUrl: 'http://backend.test', fetch: appFetch(app) });
    await expect(ecg.waitForJob(JOB, { sseIdleTimeoutMs: 50 })).resolves.toMatchObject({ status: 'cancelled' });
  });
});

describe('processVideo', () => {
  it('uploads, requests processing and waits, over real sockets', async () => {
    const { app, seen } = fakeBackend();
    app.get('/api/upload-video/status/:id/events', () =>
      eventStream([sse(jobStatus(JOB, 'pending', 0)), sse(jobStatus(JOB, 'completed', 100, { result: sampleResult }))], { delayMs: 5 }),
    );
    served = await listen(app);
    const ecg = createBackendClient({ baseUrl: served.url, token: 'tok', fetch: (req) => fetch(req) });
    const uploads: number[] = [];
    const statuses: string[] = [];
    const final = await ecg.processVideo(bytesOf(2048), {
      filename: 'clip.mp4',
      language: 'en',
      onUploadProgress: (p) => uploads.push(p.percent),
      onProgress: (s) => statuses.push(s.status),
    });
    expect(final).toMatchObject({ job_id: JOB, status: 'completed', result: sampleResult });
    expect(seen.process[0]?.body).toEqual({ fileKey: KEY, language: 'en' });
    expect(seen.puts[0]?.headers.get('authorization')).toBeNull();
    expect(uploads.at(-1)).toBe(100);
    expect(statuses).toEqual(['pending', 'completed']);
  });
});
