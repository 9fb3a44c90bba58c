import { Hono } from 'hono';
import { afterEach, describe, expect, it } from 'vitest';
import { createMlServerClient, type ProcessVideoOutcome } from '../../sdk/src/ml-client.js';
import { appFetch, closedPort, listen, type Served } from './helpers.js';

const JOB = '550e8400-e29b-41d4-a716-446655440000';
const body = {
  job_id: JOB,
  video_url: 'http://storage.test/videos/a.mp4?sig=1',
  fastapi_base_url: 'http://backend.test/api/ml-callback/tok',
  language: 'auto',
};

let served: Served | undefined;
afterEach(async () => {
  await served?.close();
  served = undefined;
});

function mlServer(answer: (c: import('hono').Context) => Response | Promise<Response>) {
  const app = new Hono();
  const seen: unknown[] = [];
  app.post('/api/upload-video/process-video', async (c) => {
    seen.push(await c.req.json());
    return answer(c);
  });
  return { app, seen };
}

describe('createMlServerClient.processVideo', () => {
  it('treats any 2xx as accepted, whatever the body', async () => {
    const text = mlServer((c) => c.text('OK'));
    const ml = createMlServerClient({ baseUrl: 'http://ml.test/', timeoutMs: 1000, fetch: appFetch(text.app) });
    await expect(ml.processVideo(body)).resolves.toEqual({ ok: true, status: 200, body: null });
    expect(text.seen).toEqual([body]);

    const accepted = mlServer((c) => c.json({ job_id: JOB, status: 'processing', status_url: `/api/upload-video/status/${JOB}` }, 202));
    const ml2 = createMlServerClient({ baseUrl: 'http://ml.test', timeoutMs: 1000, fetch: appFetch(accepted.app) });
    await expect(ml2.processVideo(body)).resolves.toEqual({ ok: true, status: 202, body: { job_id: JOB, status: 'processing', status_url: `/api/upload-video/status/${JOB}` } });

    const empty = mlServer((c) => c.body(null, 204));
    const ml3 = createMlServerClient({ baseUrl: 'http://ml.test', timeoutMs: 1000, fetch: appFetch(empty.app) });
    await expect(ml3.processVideo(body)).resolves.toEqual({ ok: true, status: 204, body: null });
  });

  it("reads the ML server's {error: {code, message}}", async () => {
    const { app } = mlServer((c) => c.json({ error: { code: 'INVALID_REQUEST', message: 'video_url is required', job_id: JOB } }, 400));
    const ml = createMlServerClient({ baseUrl: 'http://ml.test', timeoutMs: 1000, fetch: appFetch(app) });
    await expect(ml.processVideo(body)).resolves.toEqual({ ok: false, kind: 'http', status: 400, code: 'INVALID_REQUEST', message: 'video_url is required' });
  });

  it("reads FastAPI's 422 {detail: [...]}", async () => {
    const { app } = mlServer((c) =>
      c.json({ detail: [{ type: 'string_type', loc: ['body', 'language'], msg: 'Input should be a valid string', input: null }] }, 422),
    );
    const ml = createMlServerClient({ baseUrl: 'http://ml.test', timeoutMs: 1000, fetch: appFetch(app) });
    await expect(ml.processVideo(body)).resolves.toEqual({
      ok: false,
      kind: 'http',
      status: 422,
      code: 'VALIDATION_ERROR',
      message: 'language: Input should be a valid string',
    });
  });

  it('reports a bare 503 as ML_SERVER_ERROR with Retry-After', async () => {
    const { app } = mlServer((c) => c.text('<html>Service Unavailable</html>', 503, { 'Retry-After': '7' }));
    const ml = createMlServerClient({ baseUrl: 'http://ml.test', timeoutMs: 1000, fetch: appFetch(app) });
    const outcome: ProcessVideoOutcome = await ml.processVideo(body);
    expect(outcome).toEqual({ ok: false, kind: 'http', status: 503, code: 'ML_SERVER_ERROR', message: 'The ML server answered HTTP 503.', retryAfterMs: 7000 });
  });

  it('reports a refused connection as network', async () => {
    const port = await closedPort();
    const ml = createMlServerClient({ baseUrl: `http://127.0.0.1:${port}`, timeoutMs: 1000 });
    const outcome = await ml.processVideo(body);
    expect(outcome).toMatchObject({ ok: false, kind: 'network' });
    expect(outcome.ok === false && outcome.message).toMatch(/ECONNREFUSED/);
  });

  it('reports no answer within timeoutMs as timeout', async () => {
    const { app } = mlServer(async (c) => {
      await new Promise((r) => setTimeout(r, 1000));
      return c.json({ job_id: JOB, status: 'processing' });
    });
    served = await listen(app);
    const ml = createMlServerClient({ baseUrl: served.url, timeoutMs: 100 });
    const started = Date.now();
    await expect(ml.processVideo(body)).resolves.toEqual({ ok: false, kind: 'timeout', message: 'The ML server did not answer within 100 ms.' });
    expect(Date.now() - started).toBeLessThan(900);
  });

  it('sends the v1.0 body as given', async () => {
    const { app, seen } = mlServer((c) => c.json({ job_id: JOB, status: 'accepted' }));
    const ml = createMlServerClient({ baseUrl: 'http://ml.test', timeoutMs: 1000, version: 'v1.0', fetch: appFetch(app) });
    expect(ml.version).toBe('v1.0');
    const outcome = await ml.processVideo({ job_id: JOB, video_url: body.video_url });
    expect(outcome).toEqual({ ok: true, status: 200, body: { job_id: JOB, status: 'accepted' } });
    expect(seen).toEqual([{ job_id: JOB, video_url: body.video_url }]);
  });

  it('counts a 2xx as accepted even when its body breaks off', async () => {
    const { createServer } = await import('node:http');
    const server = createServer((req, res) => {
      req.resume();
      res.writeHead(200, { 'content-type': 'application/json', 'content-length': '1000' });
      res.write('{"job_id": "x", ');
      setTimeout(() => res.destroy(), 50);
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const { port } = server.address() as { port: number };
    try {
      const ml = createMlServerClient({ baseUrl: `http://127.0.0.1:${port}`, timeoutMs: 2000 });
      const outcome = await ml.processVideo({ job_id: JOB, video_url: 'http://x/v.mp4', fastapi_base_url: 'http://b', language: 'auto' });
      expect(outcome).toMatchObject({ ok: true, status: 200, body: null });
    } finally {
      server.close();
    }
  });
});

describe('createMlServerClient.health', () => {
  it('healthy, unhealthy, connection_failed, timeout', async () => {
    const app = new Hono();
    let mode: 'up' | 'down' | 'slow' = 'up';
    app.get('/health', async (c) => {
      if (mode === 'slow') await new Promise((r) => setTimeout(r, 1000));
      return mode === 'down' ? c.json({ status: 'unhealthy' }, 503) : c.json({ status: 'healthy' });
    });
    served = await listen(app);
    const ml = createMlServerClient({ baseUrl: served.url, timeoutMs: 1000, healthTimeoutMs: 200 });

    const up = await ml.health();
    expect(up).toMatchObject({ status: 'healthy', http_status: 200 });
    expect(up.response_time_ms).toEqual(expect.any(Number));
    expect(up.response_time_ms).toBeGreaterThanOrEqual(0);

    mode = 'down';
    await expect(ml.health()).resolves.toMatchObject({ status: 'unhealthy', http_status: 503 });

    mode = 'slow';
    await expect(ml.health()).resolves.toEqual({ status: 'timeout', response_time_ms: null, http_status: null });

    const port = await closedPort();
    const gone = createMlServerClient({ baseUrl: `http://127.0.0.1:${port}`, timeoutMs: 1000 });
    await expect(gone.health()).resolves.toEqual({ status: 'connection_failed', response_time_ms: null, http_status: null });
  });
});
