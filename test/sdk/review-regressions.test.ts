/** Regressions found in review: caller errors end waitForJob, any 2xx from the ML server is accepted, plain secrets sign as the backend verifies. */
import { Hono } from 'hono';
import { Webhook } from 'standardwebhooks';
import { describe, expect, it } from 'vitest';
import { createBackendClient } from '../../sdk/src/index.js';
import { createMlServerClient } from '../../sdk/src/ml-client.js';
import { createCallbackClient } from '../../sdk/src/ml-server.js';
import { webhookVerifier } from '../../server/http/callback-auth.js';
import { appFetch, eventStream, jobStatus, listen, sse } from './helpers.js';

const JOB = '550e8400-e29b-41d4-a716-446655440000';

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

describe('the ML client', () => {
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

describe('callback signatures with a plain secret', () => {
  it('are accepted by the backend\'s verifier for the same WEBHOOK_SECRET', async () => {
    const secret = 'my-secret-key!';
    const received: Array<{ body: string; headers: Record<string, string> }> = [];
    const app = new Hono();
    app.post('/api/upload-video/result', async (c) => {
      received.push({ body: await c.req.text(), headers: Object.fromEntries(c.req.raw.headers.entries()) });
      return c.json({ status: 'received' });
    });
    const served = await listen(app);
    try {
      const callbacks = createCallbackClient({ baseUrl: served.url, secret });
      await callbacks.progress(JOB, 10, 'Downloading');
      expect(received).toHaveLength(1);
      expect(() => webhookVerifier(secret).verify(received[0]!.body, received[0]!.headers)).not.toThrow();
      expect(() => new Webhook('whsec_' + Buffer.from('another').toString('base64')).verify(received[0]!.body, received[0]!.headers)).toThrow();
    } finally {
      await served.close();
    }
  });
});

describe('a 2xx answer whose JSON does not parse', () => {
  it('is reported as INVALID_RESPONSE, not as a network error', async () => {
    const app = new Hono();
    app.get('/api/upload-video/status/:id', () => new Response('{"job_id": ', { status: 200, headers: { 'content-type': 'application/json' } }));
    const ecg = createBackendClient({ baseUrl: 'http://backend.test', fetch: appFetch(app) });
    await expect(ecg.getStatus(JOB)).rejects.toMatchObject({ code: 'INVALID_RESPONSE' });
  });
});
