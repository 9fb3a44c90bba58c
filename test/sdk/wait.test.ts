/** waitForJob: Server-Sent Events, polling with ETags, backoff, aborts, and the caller's own errors. */
import { Hono } from 'hono';
import { describe, expect, it } from 'vitest';
import { createBackendClient, EcgApiError, type JobStatusResponse } from '../../sdk/src/index.js';
import { JOB } from './fake-backend.js';
import { appFetch, eventStream, jobStatus, sampleResult, sse } from './helpers.js';

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

  it('rejects with an AbortError carrying the reason as its cause when the signal aborts with a non-Error', async () => {
    const app = new Hono();
    app.get('/api/upload-video/status/:id', (c) => c.json(jobStatus(JOB, 'processing', 5)));
    const ecg = createBackendClient({ baseUrl: 'http://backend.test', fetch: appFetch(app) });
    const controller = new AbortController();
    const polling = ecg.waitForJob(JOB, { sse: false, intervalMs: 10_000, signal: controller.signal });
    setTimeout(() => controller.abort('user left'), 50);
    const err = await polling.catch((e: unknown) => e);
    expect(err).toBeInstanceOf(Error);
    expect(err).toMatchObject({ name: 'AbortError', cause: 'user left' });
  });

  it('drops a silent event stream and polls instead', async () => {
    const app = new Hono();
    app.get('/api/upload-video/status/:id/events', () => eventStream([], { keepOpen: true }));
    app.get('/api/upload-video/status/:id', (c) => c.json(jobStatus(JOB, 'cancelled', 30)));
    const ecg = createBackendClient({ baseUrl: 'http://backend.test', fetch: appFetch(app) });
    await expect(ecg.waitForJob(JOB, { sseIdleTimeoutMs: 50 })).resolves.toMatchObject({ status: 'cancelled' });
  });
});

describe('waitForJob with an onProgress that throws', () => {
  it('rejects with the caller\'s error over Server-Sent Events, without reconnecting', async () => {
    let streams = 0;
    const app = new Hono();
    app.get('/api/upload-video/status/:id/events', () => {
      streams++;
      return eventStream([sse(jobStatus(JOB, 'processing', 50))]);
    });
    const ecg = createBackendClient({ baseUrl: 'http://backend.test', fetch: appFetch(app) });
    const boom = new Error('ui broke');
    await expect(ecg.waitForJob(JOB, { onProgress: () => { throw boom; } })).rejects.toBe(boom);
    expect(streams).toBe(1);
  });

  it('rejects with the caller\'s error when polling, without polling again', async () => {
    let polls = 0;
    const app = new Hono();
    app.get('/api/upload-video/status/:id', (c) => {
      polls++;
      return c.json(jobStatus(JOB, 'processing', 10));
    });
    const ecg = createBackendClient({ baseUrl: 'http://backend.test', fetch: appFetch(app) });
    const boom = new Error('ui broke');
    await expect(ecg.waitForJob(JOB, { sse: false, intervalMs: 10, onProgress: () => { throw boom; } })).rejects.toBe(boom);
    expect(polls).toBe(1);
  });
});
