/** Errors a developer can act on (method, URL, cause, X-Request-Id), and which calls the frontend client retries. */
import { Hono } from 'hono';
import { describe, expect, it } from 'vitest';
import { createBackendClient, EcgApiError, type RetryInfo } from '../../sdk/src/index.js';
import { bytesOf, fakeBackend, JOB, KEY } from './fake-backend.js';
import { appFetch, closedPort, jobStatus } from './helpers.js';

/** What Node's fetch throws for a refused connection. */
const refused = () =>
  new TypeError('fetch failed', { cause: Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:9'), { code: 'ECONNREFUSED' }) });

const fast = { baseDelayMs: 1, maxDelayMs: 50 };

describe('network errors', () => {
  it('name the method, the URL and the cause (ECONNREFUSED), not just "fetch failed"', async () => {
    const ecg = createBackendClient({ baseUrl: 'http://backend.test', fetch: () => Promise.reject(refused()), retry: fast });
    const err = await ecg.getStatus(JOB).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(EcgApiError);
    expect(err).toMatchObject({ status: 0, code: 'NETWORK_ERROR', method: 'GET', url: `http://backend.test/api/upload-video/status/${JOB}` });
    expect((err as EcgApiError).message).toBe(`GET http://backend.test/api/upload-video/status/${JOB} failed: connect ECONNREFUSED 127.0.0.1:9`);
  });

  it('say so when the backend is really down, on a port nothing listens on', async () => {
    const port = await closedPort();
    const ecg = createBackendClient({ baseUrl: `http://127.0.0.1:${port}`, retry: fast });
    const err = await ecg.cancel(JOB).catch((e: unknown) => e);
    expect(err).toMatchObject({ code: 'NETWORK_ERROR', method: 'POST', url: `http://127.0.0.1:${port}/api/upload-video/cancel/${JOB}` });
    expect((err as Error).message).toMatch(new RegExp(`^POST http://127\\.0\\.0\\.1:${port}/api/upload-video/cancel/${JOB} failed: .*ECONNREFUSED`));
  });

  it('of the storage PUT show the presigned URL without its query string (the signature stays out of logs)', async () => {
    const { app } = fakeBackend({ storageOrigin: 'https://bucket.storage.test' });
    const ecg = createBackendClient({
      baseUrl: 'http://backend.test',
      fetch: (req) => (req.url.startsWith('https://bucket.storage.test') ? Promise.reject(refused()) : Promise.resolve(app.fetch(req))),
    });
    const err = await ecg.uploadVideo(bytesOf(10), { filename: 'clip.mp4' }).catch((e: unknown) => e);
    expect(err).toMatchObject({ code: 'NETWORK_ERROR', method: 'PUT', url: `https://bucket.storage.test/storage/${KEY}` });
    expect((err as Error).message).toContain(`PUT https://bucket.storage.test/storage/${KEY} failed: connect ECONNREFUSED`);
    expect((err as Error).message).not.toMatch(/Signature|\?/);
  });
});

describe('X-Request-Id', () => {
  it('is on every EcgApiError made from an answer, with the method and URL', async () => {
    const app = new Hono();
    app.get('/api/upload-video/status/:id', (c) => c.json({ error: 'JOB_NOT_FOUND', message: 'No job.' }, 404, { 'X-Request-Id': 'req-404' }));
    app.post('/api/upload-video/cancel/:id', (c) => c.text('<html>proxy</html>', 200, { 'X-Request-Id': 'req-html' }));
    const ecg = createBackendClient({ baseUrl: 'http://backend.test', fetch: appFetch(app) });
    await expect(ecg.getStatus(JOB)).rejects.toMatchObject({ code: 'JOB_NOT_FOUND', requestId: 'req-404', method: 'GET' });
    await expect(ecg.cancel(JOB)).rejects.toMatchObject({ code: 'INVALID_RESPONSE', requestId: 'req-html', method: 'POST' });
  });
});

describe('retries', () => {
  it('repeat getStatus on a network error, 503 and 429 (waiting at least Retry-After), reporting each to onRetry', async () => {
    const app = new Hono();
    let n = 0;
    app.get('/api/upload-video/status/:id', (c) => {
      n++;
      if (n === 1) return c.json({ error: 'SERVICE_UNAVAILABLE', message: 'Try later.' }, 503, { 'X-Request-Id': 'r1' });
      if (n === 2) return c.json({ error: 'RATE_LIMITED', message: 'Slow down.' }, 429, { 'Retry-After': '1' });
      return c.json(jobStatus(JOB, 'processing', 50));
    });
    let calls = 0;
    const flaky = (req: Request) => (++calls === 1 ? Promise.reject(refused()) : Promise.resolve(app.fetch(req)));
    const retries: RetryInfo[] = [];
    const ecg = createBackendClient({ baseUrl: 'http://backend.test', fetch: flaky, retry: { maxAttempts: 4, baseDelayMs: 1, maxDelayMs: 2000, onRetry: (r) => retries.push(r) } });
    const started = Date.now();
    await expect(ecg.getStatus(JOB)).resolves.toMatchObject({ status: 'processing', progress: 50 });
    expect(calls).toBe(4);
    expect(retries.map((r) => [r.attempt, r.error.code])).toEqual([
      [1, 'NETWORK_ERROR'],
      [2, 'SERVICE_UNAVAILABLE'],
      [3, 'RATE_LIMITED'],
    ]);
    expect(retries[1]?.error.requestId).toBe('r1');
    expect(retries[2]?.delayMs).toBeGreaterThanOrEqual(1000);
    expect(Date.now() - started).toBeGreaterThanOrEqual(950);
  });

  it('give up after maxAttempts with the last error', async () => {
    let n = 0;
    const app = new Hono();
    app.post('/api/upload-video/cancel/:id', (c) => {
      n++;
      return c.json({ error: 'INTERNAL_ERROR', message: `Boom ${n}.` }, 500);
    });
    const ecg = createBackendClient({ baseUrl: 'http://backend.test', fetch: appFetch(app), retry: { ...fast, maxAttempts: 3 } });
    await expect(ecg.cancel(JOB)).rejects.toMatchObject({ status: 500, code: 'INTERNAL_ERROR', message: 'Boom 3.' });
    expect(n).toBe(3);
  });

  it('do not wait for a Retry-After longer than maxDelayMs: the call rejects at once with retryAfterMs', async () => {
    let n = 0;
    const app = new Hono();
    app.post('/api/upload-video/request-process', (c) => {
      n++;
      return c.json({ error: 'RATE_LIMITED', message: 'Try again in 42 seconds.', retry_after: 42 }, 429, { 'Retry-After': '42' });
    });
    const ecg = createBackendClient({ baseUrl: 'http://backend.test', fetch: appFetch(app) });
    const started = Date.now();
    await expect(ecg.requestProcess({ fileKey: KEY })).rejects.toMatchObject({ code: 'RATE_LIMITED', retryAfterMs: 42_000 });
    expect(n).toBe(1);
    expect(Date.now() - started).toBeLessThan(1000);
  });

  it('repeat requestProcess with the same generated Idempotency-Key on every attempt', async () => {
    const keys: (string | undefined)[] = [];
    const app = new Hono();
    app.post('/api/upload-video/request-process', (c) => {
      keys.push(c.req.header('idempotency-key'));
      if (keys.length < 3) return c.json({ error: 'SERVICE_UNAVAILABLE', message: 'Database busy.' }, 503);
      return c.json({ job_id: JOB, status: 'pending', message: 'queued', estimated_time: 60, status_url: `/api/upload-video/status/${JOB}` });
    });
    const ecg = createBackendClient({ baseUrl: 'http://backend.test', fetch: appFetch(app), retry: fast });
    await expect(ecg.requestProcess({ fileKey: KEY })).resolves.toMatchObject({ job_id: JOB });
    expect(keys).toHaveLength(3);
    expect(new Set(keys).size).toBe(1);
    expect(keys[0]).toMatch(/^[0-9a-f-]{36}$/);
  });

  it('never repeat a 4xx, the generate-url call, the storage PUT, or anything when retry is false', async () => {
    const hits = { status: 0, generate: 0, put: 0 };
    const app = new Hono();
    app.get('/api/upload-video/status/:id', (c) => {
      hits.status++;
      return hits.status === 1 ? c.json({ error: 'JOB_NOT_FOUND', message: 'No job.' }, 404) : c.json({ error: 'INTERNAL_ERROR', message: 'Boom.' }, 500);
    });
    const { app: backend } = fakeBackend();
    app.post('/api/upload-video/generate-url', (c) => {
      hits.generate++;
      return hits.generate === 1 ? c.json({ error: 'INTERNAL_ERROR', message: 'Boom.' }, 500) : backend.fetch(c.req.raw);
    });
    app.put('/storage/*', (c) => {
      hits.put++;
      return c.body(null, 503);
    });
    const ecg = createBackendClient({ baseUrl: 'http://backend.test', fetch: appFetch(app), retry: fast });
    await expect(ecg.getStatus(JOB)).rejects.toMatchObject({ code: 'JOB_NOT_FOUND' });
    await expect(ecg.uploadVideo(bytesOf(10), { filename: 'clip.mp4' })).rejects.toMatchObject({ code: 'INTERNAL_ERROR' });
    await expect(ecg.uploadVideo(bytesOf(10), { filename: 'clip.mp4' })).rejects.toMatchObject({ code: 'UPLOAD_FAILED', status: 503 });
    expect(hits).toEqual({ status: 1, generate: 2, put: 1 });
    const once = createBackendClient({ baseUrl: 'http://backend.test', fetch: appFetch(app), retry: false });
    await expect(once.getStatus(JOB)).rejects.toMatchObject({ code: 'INTERNAL_ERROR' });
    expect(hits.status).toBe(2);
  });

  it('also cover GETs made through the raw api client (health)', async () => {
    let n = 0;
    const app = new Hono();
    app.get('/api/upload-video/ml-server/health', (c) => (++n < 2 ? c.json({ error: 'INTERNAL_ERROR', message: 'Boom.' }, 500) : c.json({ status: 'healthy' })));
    const ecg = createBackendClient({ baseUrl: 'http://backend.test', fetch: appFetch(app), retry: fast });
    const { data } = await ecg.api.GET('/api/upload-video/ml-server/health');
    expect(data).toMatchObject({ status: 'healthy' });
    expect(n).toBe(2);
  });
});

describe('waitForJob', () => {
  it('reports each polling retry to onRetry with the attempt, the delay and the error', async () => {
    let calls = 0;
    const app = new Hono();
    app.get('/api/upload-video/status/:id', (c) => c.json(jobStatus(JOB, 'completed', 100)));
    const flaky = (req: Request) => (++calls <= 2 ? Promise.reject(refused()) : Promise.resolve(app.fetch(req)));
    const ecg = createBackendClient({ baseUrl: 'http://backend.test', fetch: flaky });
    const retries: RetryInfo[] = [];
    await expect(ecg.waitForJob(JOB, { sse: false, intervalMs: 5, onRetry: (r) => retries.push(r) })).resolves.toMatchObject({ status: 'completed' });
    expect(retries.map((r) => r.attempt)).toEqual([1, 2]);
    expect(retries.every((r) => r.delayMs > 0 && r.error.code === 'NETWORK_ERROR' && r.error.message.includes('ECONNREFUSED'))).toBe(true);
    // Polling is not retried twice over: one request per attempt.
    expect(calls).toBe(3);
  });

  it('rejects with TIMEOUT after maxWaitMs, naming the last status seen, while polling and on an event stream', async () => {
    const app = new Hono();
    app.get('/api/upload-video/status/:id', (c) => c.json(jobStatus(JOB, 'processing', 40)));
    const ecg = createBackendClient({ baseUrl: 'http://backend.test', fetch: appFetch(app) });
    const polled = await ecg.waitForJob(JOB, { sse: false, intervalMs: 10, maxWaitMs: 100 }).catch((e: unknown) => e);
    expect(polled).toBeInstanceOf(EcgApiError);
    expect(polled).toMatchObject({ code: 'TIMEOUT', status: 0 });
    expect((polled as Error).message).toBe(`Job ${JOB} did not finish within 100 ms (last seen: processing, 40%).`);

    const down = createBackendClient({ baseUrl: 'http://backend.test', fetch: () => Promise.reject(refused()) });
    const started = Date.now();
    await expect(down.waitForJob(JOB, { intervalMs: 10, maxWaitMs: 150 })).rejects.toMatchObject({ code: 'TIMEOUT', message: expect.stringContaining('no status received') });
    expect(Date.now() - started).toBeLessThan(1000);
  });

  it('still stops with the caller\'s abort reason when maxWaitMs is set', async () => {
    const app = new Hono();
    app.get('/api/upload-video/status/:id', (c) => c.json(jobStatus(JOB, 'processing', 5)));
    const ecg = createBackendClient({ baseUrl: 'http://backend.test', fetch: appFetch(app) });
    const controller = new AbortController();
    setTimeout(() => controller.abort(new Error('user left')), 30);
    await expect(ecg.waitForJob(JOB, { sse: false, intervalMs: 10, maxWaitMs: 10_000, signal: controller.signal })).rejects.toThrow('user left');
  });
});
