import { randomBytes } from 'node:crypto';
import { Hono } from 'hono';
import { Webhook } from 'standardwebhooks';
import { afterEach, describe, expect, it } from 'vitest';
import { type CallbackBody, createCallbackClient, EcgApiError, type MlResult } from '../../sdk/src/ml-server.js';
import { webhookVerifier } from '../../server/http/callback-auth.js';
import { appFetch, closedPort, listen, type Served } from './helpers.js';

const JOB = '550e8400-e29b-41d4-a716-446655440000';
const SECRET = `whsec_${randomBytes(32).toString('base64')}`;

interface Received {
  path: string;
  raw: string;
  headers: Record<string, string>;
  verified: unknown;
  verifyError: string | undefined;
}

/** A receiving backend that verifies Standard Webhooks signatures and answers per `answers` (then 200). */
function receiver(answers: (() => Response | undefined)[] = [], secret = SECRET) {
  const app = new Hono();
  const received: Received[] = [];
  const handler = async (c: import('hono').Context) => {
    const raw = await c.req.text();
    const headers = Object.fromEntries(c.req.raw.headers.entries());
    let verified: unknown;
    let verifyError: string | undefined;
    try {
      verified = new Webhook(secret).verify(raw, headers);
    } catch (err) {
      verifyError = err instanceof Error ? err.message : String(err);
    }
    received.push({ path: c.req.path, raw, headers, verified, verifyError });
    const answer = answers[received.length - 1]?.();
    return answer ?? c.json({ status: 'received', job_id: JOB });
  };
  app.post('/api/upload-video/result', handler);
  app.post('/api/v1/ml/ml-results', handler);
  app.post('/api/ml-callback/:token/api/upload-video/result', handler);
  return { app, received };
}

const json = (body: unknown, status: number, headers: Record<string, string> = {}) =>
  new Response(JSON.stringify(body), { status, headers: { 'Content-Type': 'application/json', ...headers } });

let served: Served | undefined;
afterEach(async () => {
  await served?.close();
  served = undefined;
});

describe('createCallbackClient', () => {
  it('signs progress callbacks (Standard Webhooks) and always sends all seven keys', async () => {
    const { app, received } = receiver();
    const callbacks = createCallbackClient({ baseUrl: 'http://backend.test/', secret: SECRET, fetch: appFetch(app) });
    expect(callbacks.url).toBe('http://backend.test/api/upload-video/result');
    await expect(callbacks.progress(JOB, 42.4, 'Speaker identification')).resolves.toEqual({ status: 'received', job_id: JOB });
    const r = received[0] as Received;
    expect(r.verifyError).toBeUndefined();
    const expected: CallbackBody = {
      job_id: JOB,
      status: 'processing',
      progress: 42,
      message: 'Speaker identification',
      result: null,
      error_message: null,
      error_code: null,
    };
    expect(r.verified).toEqual(expected);
    expect(Object.keys(JSON.parse(r.raw) as object).sort()).toEqual(Object.keys(expected).sort());
    expect(r.headers['webhook-id']).toMatch(/^msg_[0-9a-f-]{36}$/);
    expect(Math.abs(Number(r.headers['webhook-timestamp']) - Date.now() / 1000)).toBeLessThan(5);
    expect(r.headers['content-type']).toBe('application/json');
  });

  it('sends completed (progress 100, result) and failed (code, message), over a per-job base URL', async () => {
    const { app, received } = receiver();
    served = await listen(app);
    const callbacks = createCallbackClient({ baseUrl: `${served.url}/api/ml-callback/tok123`, secret: SECRET });
    const result: MlResult = { text: 'hi', segments: [{ start_time: 0, end_time: 1, text: 'hi', speaker: 'SPEAKER_00' }], speakers: { SPEAKER_00: { total_duration: 1 } } };
    await callbacks.completed(JOB, result);
    await callbacks.failed(JOB, 'DOWNLOAD_ERROR', 'Could not download the video');
    expect(received.map((r) => r.path)).toEqual(['/api/ml-callback/tok123/api/upload-video/result', '/api/ml-callback/tok123/api/upload-video/result']);
    expect(received[0]?.verified).toEqual({ job_id: JOB, status: 'completed', progress: 100, message: null, result, error_message: null, error_code: null });
    expect(received[1]?.verified).toEqual({
      job_id: JOB,
      status: 'failed',
      progress: null,
      message: null,
      result: null,
      error_message: 'Could not download the video',
      error_code: 'DOWNLOAD_ERROR',
    });
  });

  it('without a secret sends no signature headers', async () => {
    const { app, received } = receiver();
    await createCallbackClient({ baseUrl: 'http://backend.test', fetch: appFetch(app) }).progress(JOB, 5);
    expect(received[0]?.headers['webhook-signature']).toBeUndefined();
    expect(received[0]?.headers['webhook-id']).toBeUndefined();
    expect(JSON.parse(received[0]!.raw)).toMatchObject({ progress: 5, message: null });
  });

  it('retries a 503 with the same webhook-id and a fresh, valid signature per attempt', async () => {
    const { app, received } = receiver([() => json({ error: 'SERVICE_UNAVAILABLE', message: 'Busy.' }, 503)]);
    const callbacks = createCallbackClient({ baseUrl: 'http://backend.test', secret: SECRET, fetch: appFetch(app), baseDelayMs: 5 });
    await expect(callbacks.progress(JOB, 10)).resolves.toMatchObject({ status: 'received' });
    expect(received).toHaveLength(2);
    expect(received[0]?.verifyError).toBeUndefined();
    expect(received[1]?.verifyError).toBeUndefined();
    expect(received[1]?.headers['webhook-id']).toBe(received[0]?.headers['webhook-id']);
    expect(received[1]?.raw).toBe(received[0]?.raw);
    // Each call gets its own id.
    await callbacks.progress(JOB, 20);
    expect(received[2]?.headers['webhook-id']).not.toBe(received[0]?.headers['webhook-id']);
  });

  it('honours Retry-After on 429', async () => {
    const { app, received } = receiver([() => json({ error: 'RATE_LIMITED', message: 'Wait.' }, 429, { 'Retry-After': '1' })]);
    const callbacks = createCallbackClient({ baseUrl: 'http://backend.test', secret: SECRET, fetch: appFetch(app), baseDelayMs: 1 });
    const started = Date.now();
    await callbacks.progress(JOB, 10);
    expect(Date.now() - started).toBeGreaterThanOrEqual(950);
    expect(received).toHaveLength(2);
  });

  it('does not retry 401 (or other 4xx) and surfaces a typed error', async () => {
    const { app, received } = receiver([() => json({ error: 'UNAUTHORIZED', message: 'Bad signature.' }, 401)], `whsec_${randomBytes(32).toString('base64')}`);
    const callbacks = createCallbackClient({ baseUrl: 'http://backend.test', secret: SECRET, fetch: appFetch(app), baseDelayMs: 1 });
    const err = await callbacks.progress(JOB, 10).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(EcgApiError);
    expect(err).toMatchObject({ status: 401, code: 'UNAUTHORIZED', message: 'Bad signature.' });
    expect(received).toHaveLength(1);
    expect(received[0]?.verifyError).toBeDefined(); // the receiver had another secret
  });

  it('posts to the v1.0 path with version v1.0 and returns an ignored ack as is', async () => {
    const { app, received } = receiver([() => json({ status: 'ignored', reason: 'job already completed' }, 200)]);
    const callbacks = createCallbackClient({ baseUrl: 'http://backend.test', version: 'v1.0', secret: SECRET, fetch: appFetch(app) });
    expect(callbacks.url).toBe('http://backend.test/api/v1/ml/ml-results');
    await expect(callbacks.progress(JOB, 50)).resolves.toEqual({ status: 'ignored', reason: 'job already completed' });
    expect(received[0]?.path).toBe('/api/v1/ml/ml-results');
    expect(received[0]?.verifyError).toBeUndefined();
  });

  it('stops after maxAttempts on network errors', async () => {
    const port = await closedPort();
    let attempts = 0;
    const callbacks = createCallbackClient({
      baseUrl: `http://127.0.0.1:${port}`,
      maxAttempts: 3,
      baseDelayMs: 5,
      fetch: (req) => {
        attempts++;
        return fetch(req);
      },
    });
    const err = await callbacks.progress(JOB, 1).catch((e: unknown) => e);
    expect(err).toMatchObject({ status: 0, code: 'NETWORK_ERROR' });
    expect((err as Error).message).toMatch(/ECONNREFUSED/);
    expect(attempts).toBe(3);
  });

  it('stops at the deadline when the backend keeps failing', async () => {
    let attempts = 0;
    const callbacks = createCallbackClient({
      baseUrl: 'http://backend.test',
      maxAttempts: 100,
      deadlineMs: 300,
      baseDelayMs: 20,
      fetch: () => {
        attempts++;
        return Promise.resolve(json({ error: 'INTERNAL_ERROR', message: 'Boom.' }, 500));
      },
    });
    const started = Date.now();
    await expect(callbacks.completed(JOB, { segments: [] })).rejects.toMatchObject({ status: 500, code: 'INTERNAL_ERROR' });
    expect(Date.now() - started).toBeLessThan(1000);
    expect(attempts).toBeGreaterThan(1);
    expect(attempts).toBeLessThan(100);
  });

  it('times out an attempt that gets no answer, then retries', async () => {
    const app = new Hono();
    let n = 0;
    app.post('/api/upload-video/result', async (c) => {
      n++;
      if (n === 1) await new Promise((r) => setTimeout(r, 5000));
      return c.json({ status: 'received' });
    });
    served = await listen(app);
    // A second long enough for the answered attempt on a busy machine; the first is abandoned after it.
    const callbacks = createCallbackClient({ baseUrl: served.url, attemptTimeoutMs: 1000, baseDelayMs: 5 });
    await expect(callbacks.progress(JOB, 3)).resolves.toEqual({ status: 'received' });
    expect(n).toBe(2);
  });

  it('signs with a plain (non-whsec_) secret exactly as the backend\'s verifier for the same WEBHOOK_SECRET checks', async () => {
    const secret = 'my-secret-key!';
    const received: Array<{ body: string; headers: Record<string, string> }> = [];
    const app = new Hono();
    app.post('/api/upload-video/result', async (c) => {
      received.push({ body: await c.req.text(), headers: Object.fromEntries(c.req.raw.headers.entries()) });
      return c.json({ status: 'received' });
    });
    served = await listen(app);
    const callbacks = createCallbackClient({ baseUrl: served.url, secret });
    await callbacks.progress(JOB, 10, 'Downloading');
    expect(received).toHaveLength(1);
    expect(() => webhookVerifier(secret).verify(received[0]!.body, received[0]!.headers)).not.toThrow();
    expect(() => new Webhook('whsec_' + Buffer.from('another').toString('base64')).verify(received[0]!.body, received[0]!.headers)).toThrow();
  });
});
