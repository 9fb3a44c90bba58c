import { randomUUID } from 'node:crypto';
import { eq } from 'drizzle-orm';
import { Webhook } from 'standardwebhooks';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { jobEvents,jobs } from '../../drizzle/schema.js';
import { hmacSignature } from '../../server/http/callback-auth.js';
import { createTestApp, type TestApp } from '../support/app.js';

const SECRET = 'whsec_' + Buffer.from('a-test-webhook-secret-32-bytes!!').toString('base64');
let t: TestApp;
beforeAll(async () => {
  t = await createTestApp({ WEBHOOK_SECRET: SECRET });
});
afterAll(async () => t.close());

async function newJob(): Promise<{ id: string; token: string }> {
  const key = await t.upload();
  const { data } = await t.client.POST('/api/upload-video/request-process', { body: { fileKey: key } });
  const [row] = await t.database.db.select().from(jobs).where(eq(jobs.id, data!.job_id));
  return { id: row!.id, token: row!.callbackToken };
}

/** As the real ML server sends it: all seven keys, nulls included. */
const callback = (job_id: string, over: Record<string, unknown>) => ({
  job_id, status: 'processing', progress: null, message: null, result: null, error_message: null, error_code: null, ...over,
});

function viaToken(token: string, body: unknown, path = '/api/upload-video/result') {
  return t.fetch(`http://backend.test/api/ml-callback/${token}${path}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
}

function signed(body: unknown, id = `msg_${randomUUID()}`, at = new Date()) {
  const payload = JSON.stringify(body);
  const signature = new Webhook(SECRET).sign(id, at, payload);
  return t.fetch('http://backend.test/api/upload-video/result', {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'webhook-id': id, 'webhook-timestamp': String(Math.floor(at.getTime() / 1000)), 'webhook-signature': signature },
    body: payload,
  });
}

const status = async (id: string) => (await t.client.GET('/api/upload-video/status/{job_id}', { params: { path: { job_id: id } } })).data!;

describe('callback authentication', () => {
  it('accepts a callback through the per-job callback base, on both versions\' paths', async () => {
    const job = await newJob();
    const res = await viaToken(job.token, callback(job.id, { progress: 30 }));
    expect(res.status).toBe(200);
    expect(await res.json()).toMatchObject({ status: 'received' });
    const legacy = await viaToken(job.token, callback(job.id, { progress: 40 }), '/api/v1/ml/ml-results');
    expect(legacy.status).toBe(200);
    expect((await status(job.id)).progress).toBe(40);
  });

  it('refuses a token that belongs to another job, and an unknown token', async () => {
    const a = await newJob();
    const b = await newJob();
    expect((await viaToken(a.token, callback(b.id, { progress: 10 }))).status).toBe(401);
    expect((await viaToken('x'.repeat(32), callback(a.id, { progress: 10 }))).status).toBe(401);
  });

  it('accepts a Standard Webhooks signature once per webhook-id and refuses a replay, a forgery and a stale timestamp', async () => {
    const job = await newJob();
    const id = `msg_${randomUUID()}`;
    const first = await signed(callback(job.id, { progress: 20 }), id);
    expect(await first.json()).toMatchObject({ status: 'received' });
    const replay = await signed(callback(job.id, { progress: 20 }), id);
    expect(replay.status).toBe(200);
    expect(await replay.json()).toMatchObject({ status: 'ignored', reason: 'duplicate webhook-id' });
    const stale = await signed(callback(job.id, { progress: 50 }), `msg_${randomUUID()}`, new Date(Date.now() - 10 * 60_000));
    expect(stale.status).toBe(401);
    const forged = await t.fetch('http://backend.test/api/upload-video/result', {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'webhook-id': 'msg_x', 'webhook-timestamp': String(Math.floor(Date.now() / 1000)), 'webhook-signature': 'v1,AAAA' },
      body: JSON.stringify(callback(job.id, { progress: 90 })),
    });
    expect(forged.status).toBe(401);
    expect((await status(job.id)).progress).toBe(20);
  });

  it('accepts X-Signature-256 over the raw bytes and refuses unsigned callbacks', async () => {
    const job = await newJob();
    const body = JSON.stringify(callback(job.id, { progress: 15 }));
    const ok = await t.fetch('http://backend.test/api/v1/ml/ml-results', { method: 'POST', headers: { 'content-type': 'application/json', 'x-signature-256': hmacSignature(SECRET, body) }, body });
    expect(ok.status).toBe(200);
    const unsigned = await t.fetch('http://backend.test/api/upload-video/result', { method: 'POST', headers: { 'content-type': 'application/json' }, body });
    expect(unsigned.status).toBe(401);
    expect(await unsigned.json()).toMatchObject({ error: 'UNAUTHORIZED' });
  });

  it('answers 404 for a signed callback about an unknown job', async () => {
    const res = await signed(callback(randomUUID(), { progress: 5 }));
    expect(res.status).toBe(404);
  });
});

describe('the job state machine', () => {
  it('keeps progress monotonic and clamped, keeps it when missing, and derives a stage message', async () => {
    const job = await newJob();
    await viaToken(job.token, callback(job.id, { progress: 45 }));
    expect(await status(job.id)).toMatchObject({ status: 'processing', progress: 45, message: 'Identifying speakers' });
    await viaToken(job.token, callback(job.id, { progress: 20, message: 'late' }));
    expect((await status(job.id)).progress).toBe(45);
    await viaToken(job.token, callback(job.id, { progress: 250 }));
    expect((await status(job.id)).progress).toBe(100);
    await viaToken(job.token, callback(job.id, { message: 'Still going' }));
    expect(await status(job.id)).toMatchObject({ progress: 100, message: 'Still going', status: 'processing' });
  });

  it('completes with the canonical result in the first response that says completed, and ignores what follows', async () => {
    const job = await newJob();
    const result = {
      metadata: { filename: 'video.mp4', duration: 143.39, total_segments: 1, unique_speakers: 1 },
      segments: [{ start_time: 4.908, end_time: 8.754, speaker: { speaker_id: 'SPEAKER_01' }, text: '\\uc548\\ub155 world', words: [{ word: 'You', start: 4.908, end: 4.988, volume_db: -19.87, pitch_hz: 851.09 }] }],
    };
    const res = await viaToken(job.token, callback(job.id, { status: 'completed', progress: 100, result }));
    expect(await res.json()).toMatchObject({ status: 'received' });
    const s = await status(job.id);
    expect(s.status).toBe('completed');
    expect(s.progress).toBe(100);
    expect(s.result!.segments[0]).toMatchObject({ id: 0, start: 4.908, end: 8.754, speaker: { speaker_id: 'SPEAKER_01' } });
    expect(s.result!.segments[0]).not.toHaveProperty('start_time');
    expect(s.result!.speakers).toEqual(['SPEAKER_01']);
    const late = await viaToken(job.token, callback(job.id, { status: 'failed', error_code: 'PROCESSING_ERROR' }));
    expect(await late.json()).toMatchObject({ status: 'ignored', reason: 'job is already completed' });
    const [row] = await t.database.db.select().from(jobs).where(eq(jobs.id, job.id));
    expect(row!.rawResult).toEqual(result);
  });

  it('stores the ML server\'s error code and message on failure', async () => {
    const job = await newJob();
    await viaToken(job.token, callback(job.id, { status: 'failed', progress: 30, error_code: 'DOWNLOAD_ERROR', error_message: 'Failed to download video from S3' }));
    expect(await status(job.id)).toMatchObject({ status: 'failed', error_code: 'DOWNLOAD_ERROR', error_message: 'Failed to download video from S3', progress: 30 });
  });

  it('ignores callbacks for a cancelled job', async () => {
    const job = await newJob();
    await t.client.POST('/api/upload-video/cancel/{job_id}', { params: { path: { job_id: job.id } } });
    const res = await viaToken(job.token, callback(job.id, { status: 'completed', result: { segments: [] } }));
    expect(res.status).toBe(200);
    expect(await res.json()).toMatchObject({ status: 'ignored', reason: 'job was cancelled' });
    expect((await status(job.id)).status).toBe('cancelled');
  });

  it('accepts a late completed after the backend itself failed the job, but not after the ML server did', async () => {
    const job = await newJob();
    await t.database.db.update(jobs).set({ status: 'failed', failedBy: 'backend', errorCode: 'PROCESSING_TIMEOUT' }).where(eq(jobs.id, job.id));
    const res = await viaToken(job.token, callback(job.id, { status: 'completed', result: { segments: [] } }));
    expect(await res.json()).toMatchObject({ status: 'received' });
    expect((await status(job.id)).status).toBe('completed');

    const other = await newJob();
    await viaToken(other.token, callback(other.id, { status: 'failed', error_code: 'PROCESSING_ERROR' }));
    const refused = await viaToken(other.token, callback(other.id, { status: 'completed', result: { segments: [] } }));
    expect(await refused.json()).toMatchObject({ status: 'ignored' });
  });

  it('ends 50 concurrent mixed callbacks for one job in a legal state with one terminal event', async () => {
    const job = await newJob();
    const bodies = Array.from({ length: 50 }, (_, i) =>
      i === 37 ? callback(job.id, { status: 'completed', result: { segments: [] } }) : i === 12 ? callback(job.id, { status: 'failed', error_code: 'X' }) : callback(job.id, { progress: i * 2 }),
    );
    const answers = await Promise.all(bodies.map((b) => viaToken(job.token, b)));
    expect(answers.every((a) => a.status === 200)).toBe(true);
    const s = await status(job.id);
    expect(['completed', 'failed']).toContain(s.status);
    if (s.status === 'completed') expect(s.progress).toBe(100);
    const events = await t.database.db.select().from(jobEvents).where(eq(jobEvents.jobId, job.id));
    const terminal = events.filter((e) => e.kind === 'callback' && (e.toStatus === 'completed' || e.toStatus === 'failed') && e.fromStatus !== e.toStatus);
    expect(terminal).toHaveLength(1);
  });
});

describe('callback bodies PostgreSQL cannot store as sent', () => {
  it('stores a result with a lone surrogate (a truncated emoji) and U+0000 instead of failing it', async () => {
    const job = await newJob();
    const res = await viaToken(job.token, callback(job.id, { status: 'completed', result: { text: 'cut \ud83d', segments: [{ start: 0, end: 1, text: 'a\u0000b \udc00' }] } }));
    expect(res.status).toBe(200);
    const s = await status(job.id);
    expect(s.status).toBe('completed');
    expect(s.result!.text).toBe('cut \ufffd');
    expect(s.result!.segments[0]!.text).toBe('ab \ufffd');
  });

  it('answers 404 for a signed callback whose job_id is not one of ours (not even a UUID)', async () => {
    const res = await signed(callback('test-123', { progress: 5 }));
    expect(res.status).toBe(404);
    expect(await res.json()).toMatchObject({ error: 'JOB_NOT_FOUND' });
  });
});
