/**
 * The reference ML server (examples/ml-server) over real HTTP: a tiny receiver plays both the
 * object storage (serving a "presigned" video) and the backend (collecting callbacks and
 * verifying their Standard Webhooks signatures).
 */
import { randomBytes, randomUUID } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import { serve, type ServerType } from '@hono/node-server';
import { Hono } from 'hono';
import { Webhook } from 'standardwebhooks';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import {
  type Behaviour,
  type ReferenceMlServer,
  type ReferenceMlServerOptions,
  startReferenceMlServer,
} from '../../examples/ml-server/src/server.js';
import { MODEL_VERSION } from '../../examples/ml-server/src/transcript.js';
import { dereference } from '../../scripts/spec.js';
import { schemaProblems } from '../support/contract.js';

const SECRET = `whsec_${randomBytes(24).toString('base64')}`;
const SIGNATURE = 'X-Amz-Signature=0123abcd';
// Fixed bytes, so the transcript (derived from their hash) is the same on every run.
const VIDEO = Uint8Array.from({ length: 600_000 }, (_, i) => (Math.imul(i, 2654435761) >>> 24) & 0xff); // about 2.4 s at the pretend bitrate: the 8 s minimum applies

/** What these tests read of a callback's result, in either version's shape; asserted field by field. */
interface ReceivedResult {
  language: string;
  metadata: Record<string, unknown> & { total_segments: number };
  segments: Array<Record<string, unknown> & { words: Array<Record<string, unknown>> }>;
}

interface Received {
  path: string;
  headers: Record<string, string>;
  body: {
    job_id: string;
    status: string;
    progress: number | null;
    message: string | null;
    result: ReceivedResult | null;
    error_code: string | null;
    error_message: string | null;
  };
  /** null when unsigned; otherwise whether `Webhook.verify` accepted it. */
  verified: boolean | null;
}

let receiver: { url: string; server: ServerType; received: Received[] };

async function listen(app: Hono): Promise<{ url: string; server: ServerType }> {
  return new Promise((resolve) => {
    const server = serve({ fetch: app.fetch, port: 0, hostname: '127.0.0.1' }, (info: AddressInfo) =>
      resolve({ url: `http://127.0.0.1:${info.port}`, server }),
    );
  });
}

beforeAll(async () => {
  const received: Received[] = [];
  const app = new Hono();
  // Storage: only a "presigned" URL (with its signature) may download.
  app.get('/bucket/videos/:name', (c) => {
    if (c.req.param('name') !== 'talk.mp4' || !c.req.url.includes(SIGNATURE)) return c.text('AccessDenied', 403);
    return c.body(VIDEO, 200, { 'Content-Type': 'video/mp4' });
  });
  // Backend: any callback path (v1.1 under a per-job token prefix, v1.0 at the legacy path).
  app.post('*', async (c) => {
    const raw = await c.req.text();
    const headers = Object.fromEntries(c.req.raw.headers.entries());
    let verified: boolean | null = null;
    if (headers['webhook-signature']) {
      try {
        new Webhook(SECRET).verify(raw, headers);
        verified = true;
      } catch {
        verified = false;
      }
    }
    received.push({ path: c.req.path, headers, body: JSON.parse(raw), verified });
    return c.json({ status: 'received' });
  });
  receiver = { ...(await listen(app)), received };
});

afterAll(async () => {
  await new Promise<void>((resolve) => receiver.server.close(() => resolve()));
});

const started: ReferenceMlServer[] = [];
afterEach(async () => {
  await Promise.all(started.splice(0).map((ml) => ml.close()));
});

const silent = { info: () => undefined, warn: () => undefined, error: () => undefined };

async function startMl(behaviour: Behaviour = {}, extra: Partial<ReferenceMlServerOptions> = {}) {
  const ml = await startReferenceMlServer({ port: 0, logger: silent, secret: SECRET, behaviour: { stepDelayMs: 5, ...behaviour }, ...extra });
  started.push(ml);
  return ml;
}

const videoUrl = (name = 'talk.mp4') => `${receiver.url}/bucket/videos/${name}?X-Amz-Expires=3600&${SIGNATURE}`;

/** Every process-video answer the reference server gave, with the version of the request. */
const answers: Array<{ version: 'v1.0' | 'v1.1'; status: number; body: unknown }> = [];

async function processVideo(ml: ReferenceMlServer, body: unknown) {
  const res = await fetch(`${ml.url}/api/upload-video/process-video`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify(body),
  });
  const answer = { status: res.status, body: (await res.json()) as Record<string, unknown> };
  const v11 = typeof body === 'object' && body !== null && 'fastapi_base_url' in body;
  answers.push({ version: v11 ? 'v1.1' : 'v1.0', ...answer });
  return answer;
}

/** Starts a v1.1 job with a per-job token path in `fastapi_base_url` and waits until it has ended. */
async function runV11(ml: ReferenceMlServer, fields: Record<string, unknown> = {}) {
  const job_id = randomUUID();
  const base = `${receiver.url}/api/ml-callback/tok-${job_id}`;
  const answer = await processVideo(ml, { job_id, video_url: videoUrl(), fastapi_base_url: base, language: 'auto', ...fields });
  expect(answer.status).toBe(200);
  await ml.jobs.get(job_id)?.done;
  return { job_id, answer, callbacks: receiver.received.filter((r) => r.body.job_id === job_id) };
}

describe('reference ML server', () => {
  it('answers a v1.1 request with processing, then reports ascending progress and a signed completed result', async () => {
    const ml = await startMl();
    const { job_id, answer, callbacks } = await runV11(ml, { language: 'ko', enable_gpu: true, emotion_detection: true, max_workers: 4 });

    expect(answer.body).toMatchObject({ job_id, status: 'processing', status_url: `/api/upload-video/status/${job_id}` });
    expect(answer.body.estimated_time).toBeTypeOf('number');
    expect(callbacks.every((c) => c.path === `/api/ml-callback/tok-${job_id}/api/upload-video/result`)).toBe(true);
    expect(callbacks.every((c) => c.verified === true)).toBe(true);

    const progress = callbacks.filter((c) => c.body.status === 'processing').map((c) => c.body.progress);
    expect(progress).toEqual([10, 25, 40, 60, 75, 90]);
    const last = callbacks.at(-1)!;
    expect(last.body.status).toBe('completed');
    expect(Object.keys(last.body).sort()).toEqual(['error_code', 'error_message', 'job_id', 'message', 'progress', 'result', 'status']);
    const result = last.body.result!;
    expect(result.language).toBe('ko');
    expect(result.metadata).toMatchObject({ filename: 'talk.mp4', model_version: MODEL_VERSION, unique_speakers: 2 });
    expect(result.segments.length).toBeGreaterThanOrEqual(2);
    expect(result.metadata.total_segments).toBe(result.segments.length);
    const segment = result.segments[0]!;
    expect(segment).toMatchObject({ id: 0, start: expect.any(Number), end: expect.any(Number), speaker: 'SPEAKER_00' });
    expect(segment.words[0]).toEqual({
      word: expect.any(String), start: expect.any(Number), end: expect.any(Number),
      confidence: expect.any(Number), volume_db: expect.any(Number), pitch_hz: expect.any(Number),
    });

    const status = await fetch(`${ml.url}/api/upload-video/status/${job_id}`);
    expect(status.status).toBe(200);
    // The status carries the result the completion callback carried, for a backend whose callback was lost.
    expect(await status.json()).toEqual({ job_id, status: 'completed', progress: 100, message: 'Processing completed', result, error_code: null, error_message: null });
  });

  it('gives the same transcript for the same video', async () => {
    const ml = await startMl();
    const a = await runV11(ml);
    const b = await runV11(ml);
    const strip = (r: ReceivedResult) => ({ ...r, metadata: { ...r.metadata, processing_time: 0 } });
    expect(strip(a.callbacks.at(-1)!.body.result!)).toEqual(strip(b.callbacks.at(-1)!.body.result!));
  });

  it('treats a request without fastapi_base_url as v1.0: accepted, legacy callback path, start_time fields', async () => {
    const ml = await startMl({}, { legacyCallbackBaseUrl: `${receiver.url}/` });
    const job_id = randomUUID();
    const answer = await processVideo(ml, { job_id, video_url: videoUrl() });
    expect(answer.status).toBe(200);
    expect(answer.body).toMatchObject({ job_id, status: 'accepted' });
    expect(answer.body).not.toHaveProperty('status_url');
    await ml.jobs.get(job_id)?.done;

    const callbacks = receiver.received.filter((r) => r.body.job_id === job_id);
    expect(callbacks.length).toBe(7);
    expect(callbacks.every((c) => c.path === '/api/v1/ml/ml-results' && c.verified === true)).toBe(true);
    const result = callbacks.at(-1)!.body.result!;
    expect(callbacks.at(-1)!.body.status).toBe('completed');
    expect(result.segments[0]).toMatchObject({ start_time: expect.any(Number), end_time: expect.any(Number), speaker: { speaker_id: 'SPEAKER_00' } });
    expect(result.segments[0]).not.toHaveProperty('start');
    expect(Object.keys(result.segments[0]!.words[0]!).sort()).toEqual(['end', 'pitch_hz', 'start', 'volume_db', 'word']);
  });

  it('answers language null with a FastAPI-style 422 and starts nothing', async () => {
    const ml = await startMl();
    const job_id = randomUUID();
    const res = await processVideo(ml, { job_id, video_url: videoUrl(), fastapi_base_url: receiver.url, language: null });
    expect(res.status).toBe(422);
    expect(res.body.detail).toEqual([
      { type: 'string_type', loc: ['body', 'language'], msg: 'Input should be a valid string', input: null },
    ]);
    const missing = await processVideo(ml, { job_id });
    expect(missing.status).toBe(422);
    expect((missing.body.detail as unknown[])[0]).toMatchObject({ type: 'missing', loc: ['body', 'video_url'] });
    expect(ml.jobs.size).toBe(0);
  });

  it('reports a video it cannot download as failed with DOWNLOAD_ERROR', async () => {
    const ml = await startMl();
    const job_id = randomUUID();
    const res = await processVideo(ml, { job_id, video_url: videoUrl('expired.mp4'), fastapi_base_url: receiver.url });
    expect(res.status).toBe(200);
    await ml.jobs.get(job_id)?.done;
    const last = receiver.received.filter((r) => r.body.job_id === job_id).at(-1)!;
    expect(last.body).toMatchObject({ status: 'failed', error_code: 'DOWNLOAD_ERROR', error_message: expect.stringContaining('403') });
    expect(last.body.error_message).not.toContain('X-Amz');
    const status = await fetch(`${ml.url}/api/upload-video/status/${job_id}`);
    expect(await status.json()).toMatchObject({ status: 'failed', result: null, error_code: 'DOWNLOAD_ERROR', error_message: last.body.error_message });
  });

  it('answers the first dispatchErrors calls with 503, then accepts', async () => {
    const ml = await startMl({ dispatchErrors: 2 });
    const job_id = randomUUID();
    const body = { job_id, video_url: videoUrl(), fastapi_base_url: receiver.url };
    const first = await processVideo(ml, body);
    const second = await processVideo(ml, body);
    const third = await processVideo(ml, body);
    expect([first.status, second.status, third.status]).toEqual([503, 503, 200]);
    expect(first.body).toEqual({ error: { code: 'SERVICE_UNAVAILABLE', message: expect.any(String), job_id } });
    await ml.jobs.get(job_id)?.done;
  });

  it('sends failed with the configured code instead of completing (failWith)', async () => {
    const ml = await startMl({ failWith: { code: 'PROCESSING_ERROR', message: 'CUDA out of memory' } });
    const { callbacks } = await runV11(ml);
    expect(callbacks.map((c) => c.body.status)).toEqual(['processing', 'processing', 'processing', 'failed']);
    expect(callbacks.at(-1)!.body).toMatchObject({ error_code: 'PROCESSING_ERROR', error_message: 'CUDA out of memory', result: null });
  });

  it('delivers every callback twice with the same webhook-id (duplicateCallbacks)', async () => {
    const ml = await startMl({ duplicateCallbacks: true });
    const { callbacks } = await runV11(ml);
    expect(callbacks.length).toBe(14);
    const byId = new Map<string, Received[]>();
    for (const c of callbacks) byId.set(c.headers['webhook-id']!, [...(byId.get(c.headers['webhook-id']!) ?? []), c]);
    expect(byId.size).toBe(7);
    for (const [, pair] of byId) {
      expect(pair).toHaveLength(2);
      expect(pair[0]!.body).toEqual(pair[1]!.body);
      expect(pair.every((c) => c.verified === true)).toBe(true);
    }
  });

  it('sends a lower progress after a higher one (outOfOrder)', async () => {
    const ml = await startMl({ outOfOrder: true });
    const { callbacks } = await runV11(ml);
    const progress = callbacks.filter((c) => c.body.status === 'processing').map((c) => c.body.progress);
    expect(progress).toEqual([10, 25, 40, 60, 40, 75, 90]);
    expect(callbacks.at(-1)!.body.status).toBe('completed');
  });

  it('sends unsigned callbacks even with a secret (unsigned), and completes empty (emptyResult)', async () => {
    const ml = await startMl({ unsigned: true, emptyResult: true });
    const { callbacks } = await runV11(ml);
    expect(callbacks.every((c) => c.verified === null && !('webhook-id' in c.headers))).toBe(true);
    expect(callbacks.at(-1)!.body).toMatchObject({ status: 'completed', progress: 100, result: { segments: [], text: '' } });
  });

  it('refuses the 11th concurrent job with 503 INSUFFICIENT_RESOURCES', async () => {
    const ml = await startMl({ stepDelayMs: 2_000 });
    const answers = await Promise.all(
      Array.from({ length: 10 }, () => processVideo(ml, { job_id: randomUUID(), video_url: videoUrl(), fastapi_base_url: receiver.url })),
    );
    expect(answers.map((a) => a.status)).toEqual(Array(10).fill(200));
    const job_id = randomUUID();
    const eleventh = await processVideo(ml, { job_id, video_url: videoUrl(), fastapi_base_url: receiver.url });
    expect(eleventh.status).toBe(503);
    expect(eleventh.body).toEqual({ error: { code: 'INSUFFICIENT_RESOURCES', message: expect.any(String), job_id } });
    const health = await fetch(`${ml.url}/health`);
    expect(await health.json()).toEqual({ status: 'healthy', active_jobs: 10, max_jobs: 10 });
  });

  it('answers an unknown job with 404 JOB_NOT_FOUND', async () => {
    const ml = await startMl();
    const res = await fetch(`${ml.url}/api/upload-video/status/nope`);
    expect(res.status).toBe(404);
    expect(await res.json()).toEqual({ error: { code: 'JOB_NOT_FOUND', message: expect.any(String), job_id: 'nope' } });
  });

  it('never logs a signed URL or a callback token', async () => {
    const lines: string[] = [];
    const record = (msg: string, fields?: Record<string, unknown>) => void lines.push(`${msg} ${JSON.stringify(fields ?? {})}`);
    const ml = await startMl({}, { logger: { info: record, warn: record, error: record } });
    await runV11(ml);
    const failed = randomUUID();
    await processVideo(ml, { job_id: failed, video_url: videoUrl('expired.mp4'), fastapi_base_url: `${receiver.url}/api/ml-callback/tok-x` });
    await ml.jobs.get(failed)?.done;
    expect(lines.length).toBeGreaterThan(3);
    expect(lines.filter((l) => l.includes('X-Amz') || l.includes('tok-') || l.includes('?'))).toEqual([]);
  });

  // Runs last (tests in a file run in order): everything the reference server sent and answered above.
  it('sent only callbacks, and gave only process-video answers, that the ML server spec of their version allows', () => {
    const problems: string[] = [];
    for (const version of ['v1.0', 'v1.1'] as const) {
      const spec = dereference(version, 'ml-server');
      const op = spec.paths['/api/upload-video/process-video'].post;
      const [callbackUrl] = Object.keys(op.callbacks.mlCallback);
      const callbackSchema = op.callbacks.mlCallback[callbackUrl!].post.requestBody.content['application/json'].schema;
      const legacy = version === 'v1.0';
      const sent = receiver.received.filter((r) => r.path.endsWith(legacy ? '/api/v1/ml/ml-results' : '/api/upload-video/result'));
      for (const r of sent) problems.push(...schemaProblems(callbackSchema, r.body, `${version} callback ${r.body.status}`));
      for (const a of answers.filter((x) => x.version === version)) {
        const documented = op.responses[String(a.status)];
        if (!documented) {
          problems.push(`${version} process-video answered ${a.status}, which the spec does not document`);
          continue;
        }
        const schema = documented.content?.['application/json']?.schema;
        if (schema) problems.push(...schemaProblems(schema, a.body, `${version} process-video ${a.status}`));
      }
      expect(sent.length, `${version} callbacks seen`).toBeGreaterThan(0);
    }
    expect(answers.length).toBeGreaterThan(10);
    expect(problems).toEqual([]);
  });
});
