/** requestProcess, getStatus, cancel and processVideo: what they send, and how answers become values or EcgApiError. */
import { Hono } from 'hono';
import { afterEach, describe, expect, it } from 'vitest';
import { createBackendClient, EcgApiError } from '../../sdk/src/index.js';
import { bytesOf, fakeBackend, JOB, KEY } from './fake-backend.js';
import { appFetch, eventStream, jobStatus, listen, sampleResult, type Served,sse } from './helpers.js';

let served: Served | undefined;
afterEach(async () => {
  await served?.close();
  served = undefined;
});

describe('requestProcess, getStatus, cancel', () => {
  it('sends fileKey and language (default auto) with the token and the caller\'s Idempotency-Key, or a fresh one', async () => {
    const { app, seen } = fakeBackend();
    const ecg = createBackendClient({ baseUrl: 'http://backend.test', token: () => Promise.resolve('tok'), fetch: appFetch(app) });
    const job = await ecg.requestProcess({ fileKey: KEY, idempotencyKey: 'k1' });
    expect(job.job_id).toBe(JOB);
    expect(seen.process[0]).toEqual({ body: { fileKey: KEY, language: 'auto' }, auth: 'Bearer tok', idem: 'k1' });
    await ecg.requestProcess({ fileKey: KEY, language: 'ko' });
    await ecg.requestProcess({ fileKey: KEY, language: 'ko' });
    expect(seen.process[1]?.body).toEqual({ fileKey: KEY, language: 'ko' });
    // Without a key of the caller's, each call gets a fresh one (so its retries cannot create a second job).
    expect(seen.process[1]?.idem).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    expect(seen.process[2]?.idem).not.toBe(seen.process[1]?.idem);
    await ecg.requestProcess({ fileKey: KEY, webhookUrl: 'https://consumer.example/hooks/ecg' });
    expect(seen.process[3]?.body).toEqual({ fileKey: KEY, language: 'auto', webhook_url: 'https://consumer.example/hooks/ecg' });
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
    const down = createBackendClient({ baseUrl: 'http://backend.test', fetch: () => Promise.reject(new TypeError('fetch failed')), retry: false });
    await expect(down.getStatus(JOB)).rejects.toMatchObject({ status: 0, code: 'NETWORK_ERROR' });
  });

  it('reports a 2xx whose JSON does not parse as INVALID_RESPONSE, not as a network error', async () => {
    const app = new Hono();
    app.get('/api/upload-video/status/:id', () => new Response('{"job_id": ', { status: 200, headers: { 'content-type': 'application/json' } }));
    const ecg = createBackendClient({ baseUrl: 'http://backend.test', fetch: appFetch(app) });
    await expect(ecg.getStatus(JOB)).rejects.toMatchObject({ code: 'INVALID_RESPONSE' });
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
