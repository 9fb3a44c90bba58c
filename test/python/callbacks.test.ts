/**
 * The Python callback client (clients/python/ecg_callbacks.py) against the real backend over real
 * HTTP: the app in-process, served on 127.0.0.1 behind a thin front that records every request and
 * can answer 503 in the backend's place. Every exchange that reaches the app is checked against the
 * spec (test/support/contract.ts).
 */
import { serve } from '@hono/node-server';
import { Hono } from 'hono';
import { afterAll, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import { sampleResult } from '../sdk/helpers.js';
import { createTestApp, type TestApp } from '../support/app.js';
import { freePort } from '../support/process.js';
import { type DriverResult, havePython, runCallbacks } from './python.js';

const ready = havePython();
const SECRET = `whsec_${Buffer.from('python-client-test-secret-32byte').toString('base64')}`;

type Seen = { path: string; webhookId: string | null; timestamp: string | null; at: number; answered: number };
let t: TestApp;
let front: { url: string; server: ReturnType<typeof serve> };
let seen: Seen[] = [];
/** How the front answers the next requests, in order; `forward` when the list is empty. */
let plan: Array<{ kind: '503' | '429' | 'forward-then-503'; retryAfter?: string }> = [];

beforeAll(async () => {
  if (!ready) return;
  const port = await freePort();
  t = await createTestApp({ FASTAPI_BASE_URL: `http://127.0.0.1:${port}`, WEBHOOK_SECRET: SECRET }, undefined, { isolatedDatabase: true });
  const app = new Hono();
  app.all('*', async (c) => {
    const body = await c.req.arrayBuffer();
    const entry: Seen = { path: c.req.path, webhookId: c.req.header('webhook-id') ?? null, timestamp: c.req.header('webhook-timestamp') ?? null, at: Date.now(), answered: 0 };
    seen.push(entry);
    const step = plan.shift();
    const headers: Record<string, string> = step?.retryAfter ? { 'Retry-After': step.retryAfter } : {};
    const unavailable = () => {
      entry.answered = 503;
      return c.json({ error: 'SERVICE_UNAVAILABLE', message: 'Try again shortly.' }, 503, headers);
    };
    if (step?.kind === '503') return unavailable();
    if (step?.kind === '429') {
      entry.answered = 429;
      return c.json({ error: 'RATE_LIMITED', message: 'Too many callbacks.' }, 429, headers);
    }
    const res = await t.fetch(new Request(c.req.url, { method: c.req.method, headers: c.req.raw.headers, body }));
    if (step?.kind === 'forward-then-503') return unavailable(); // delivered, but the answer is lost
    entry.answered = res.status;
    return res;
  });
  front = { url: `http://127.0.0.1:${port}`, server: serve({ fetch: app.fetch, port, hostname: '127.0.0.1' }) };
}, 120_000);

afterAll(async () => {
  front?.server.close();
  await t?.close();
});

beforeEach(() => {
  seen = [];
  plan = [];
});

/** A job handed to the ML server: its id and the `fastapi_base_url` the backend sent. */
async function dispatchedJob(): Promise<{ id: string; base: string }> {
  const fileKey = await t.upload();
  const { data } = await t.client.POST('/api/upload-video/request-process', { body: { fileKey } });
  const id = data!.job_id;
  await t.dispatcher.tick();
  const call = await vi.waitFor(() => {
    const found = t.mlCalls.find((c) => c.body.job_id === id);
    expect(found).toBeDefined();
    return found!;
  }, { timeout: 15_000, interval: 50 });
  return { id, base: String(call.body.fastapi_base_url) };
}

const status = async (id: string) => (await t.client.GET('/api/upload-video/status/{job_id}', { params: { path: { job_id: id } } })).data!;
const ack = (r: DriverResult | undefined) => (r && 'ack' in r ? r.ack : { unexpected: r });
const fast = { base_delay: 0.05, max_delay: 0.2 };

describe.skipIf(!ready)('the Python callback client against the backend', () => {
  it('reports progress and completion through the per-job callback URL (v1.1, unsigned), and the backend normalises the result', async () => {
    const job = await dispatchedJob();
    expect(job.base).toMatch(new RegExp(`^${front.url}/api/ml-callback/[A-Za-z0-9_-]{16,}$`));
    const { url, results } = await runCallbacks({ base_url: job.base }, [
      ['progress', [job.id, 40.4, 'Identifying speakers']],
      ['completed', [job.id, sampleResult]],
    ]);
    expect(url).toBe(`${job.base}/api/upload-video/result`);
    expect(results.map(ack)).toEqual([{ status: 'received', job_id: job.id }, { status: 'received', job_id: job.id }]);
    expect(seen.every((s) => s.webhookId === null)).toBe(true);
    const done = await status(job.id);
    expect(done).toMatchObject({ status: 'completed', progress: 100 });
    expect(done.result?.segments[0]).toMatchObject({ text: 'Hello there.', speaker: { speaker_id: 'SPEAKER_00' } });
  });

  it('signs with Standard Webhooks on the plain v1.1 path, and the backend accepts it', async () => {
    const job = await dispatchedJob();
    const { results } = await runCallbacks({ base_url: front.url, secret: SECRET }, [
      ['progress', [job.id, 25, 'Extracting audio']],
      ['failed', [job.id, 'DOWNLOAD_ERROR', 'The video could not be downloaded (HTTP 403).']],
    ]);
    expect(results.map(ack)).toEqual([{ status: 'received', job_id: job.id }, { status: 'received', job_id: job.id }]);
    expect(seen.map((s) => s.path)).toEqual(['/api/upload-video/result', '/api/upload-video/result']);
    expect(new Set(seen.map((s) => s.webhookId)).size).toBe(2);
    expect(await status(job.id)).toMatchObject({ status: 'failed', error_code: 'DOWNLOAD_ERROR' });
  });

  it('posts the v1.0 body, signed, to the legacy path /api/v1/ml/ml-results', async () => {
    const job = await dispatchedJob();
    const { url, results } = await runCallbacks({ base_url: front.url, secret: SECRET, version: 'v1.0' }, [
      ['progress', [job.id, 60, 'Transcribing']],
      ['completed', [job.id, sampleResult]],
    ]);
    expect(url).toBe(`${front.url}/api/v1/ml/ml-results`);
    expect(results.map(ack)).toEqual([{ status: 'received', job_id: job.id }, { status: 'received', job_id: job.id }]);
    expect(seen.map((s) => s.path)).toEqual(['/api/v1/ml/ml-results', '/api/v1/ml/ml-results']);
    expect((await status(job.id)).status).toBe('completed');
  });

  it('retries a 503 after the Retry-After it names, with the same webhook-id', async () => {
    const job = await dispatchedJob();
    plan = [{ kind: '503', retryAfter: '1' }];
    const { results } = await runCallbacks({ base_url: front.url, secret: SECRET, version: 'v1.0', ...fast }, [['progress', [job.id, 30, 'Detecting speech']]]);
    expect(ack(results[0])).toEqual({ status: 'received', job_id: job.id });
    expect(seen.map((s) => s.answered)).toEqual([503, 200]);
    expect(seen[1]!.webhookId).toBe(seen[0]!.webhookId);
    expect(seen[1]!.webhookId).toMatch(/^msg_/);
    expect(seen[1]!.at - seen[0]!.at).toBeGreaterThanOrEqual(950);
    expect((await status(job.id)).progress).toBe(30);
  });

  it('retries a 429 as well, and honours an HTTP-date Retry-After', async () => {
    const job = await dispatchedJob();
    // Three seconds ahead: the date is cut to whole seconds, and the Python process takes a while to start.
    plan = [{ kind: '429', retryAfter: new Date(Date.now() + 3000).toUTCString() }];
    const { results } = await runCallbacks({ base_url: job.base, ...fast }, [['progress', [job.id, 35, 'Detecting speech']]]);
    expect(ack(results[0])).toEqual({ status: 'received', job_id: job.id });
    expect(seen.map((s) => s.answered)).toEqual([429, 200]);
    // The date has one-second precision: at least a second must have passed.
    expect(seen[1]!.at - seen[0]!.at).toBeGreaterThanOrEqual(950);
  });

  it('keeps the webhook-id when an answer is lost, so the backend recognises the repeat', async () => {
    const job = await dispatchedJob();
    plan = [{ kind: 'forward-then-503' }];
    const { results } = await runCallbacks({ base_url: front.url, secret: SECRET, ...fast }, [['progress', [job.id, 45, 'Detecting speech']]]);
    expect(ack(results[0])).toMatchObject({ status: 'ignored', reason: 'duplicate webhook-id' });
    expect(seen).toHaveLength(2);
    expect(seen[1]!.webhookId).toBe(seen[0]!.webhookId);
    expect((await status(job.id)).progress).toBe(45);
  });

  it('stops after max_attempts, and sooner when Retry-After would pass the deadline', async () => {
    const job = await dispatchedJob();
    plan = Array.from({ length: 3 }, () => ({ kind: '503' as const }));
    const capped = await runCallbacks({ base_url: job.base, max_attempts: 3, ...fast }, [['progress', [job.id, 10, null]]]);
    expect(capped.results[0]).toEqual({ error: expect.objectContaining({ status: 503, code: 'SERVICE_UNAVAILABLE', attempts: 3 }) as unknown });
    expect(seen).toHaveLength(3);

    seen = [];
    plan = [{ kind: '503', retryAfter: '30' }];
    const started = Date.now();
    const late = await runCallbacks({ base_url: job.base, deadline: 3, ...fast }, [['progress', [job.id, 10, null]]]);
    expect(late.results[0]).toEqual({ error: expect.objectContaining({ status: 503, attempts: 1 }) as unknown });
    expect(seen).toHaveLength(1);
    expect(Date.now() - started).toBeLessThan(10_000);
  });

  it('fails at once on a 4xx: a wrong secret is UNAUTHORIZED after one attempt', async () => {
    const job = await dispatchedJob();
    const { results } = await runCallbacks({ base_url: front.url, secret: 'whsec_d3Jvbmctc2VjcmV0LXdyb25nLXNlY3JldC0zMmI=' }, [['progress', [job.id, 10, null]]]);
    expect(results[0]).toEqual({ error: expect.objectContaining({ status: 401, code: 'UNAUTHORIZED', attempts: 1 }) as unknown });
    expect(seen).toHaveLength(1);
  });

  it('retries network errors and then reports NETWORK_ERROR', async () => {
    const port = await freePort();
    const { results } = await runCallbacks({ base_url: `http://127.0.0.1:${port}`, max_attempts: 2, ...fast }, [['progress', ['job-1', 10, null]]]);
    expect(results[0]).toEqual({ error: expect.objectContaining({ status: 0, code: 'NETWORK_ERROR', attempts: 2 }) as unknown });
  });
});
