import { and, eq, sql } from 'drizzle-orm';
import { describe, expect, it, vi } from 'vitest';
import { jobEvents, jobs } from '../../drizzle/schema.js';
import { createTestApp, type TestApp } from '../support/app.js';

async function newJob(t: TestApp): Promise<string> {
  const key = await t.upload();
  const { data } = await t.client.POST('/api/upload-video/request-process', { body: { fileKey: key } });
  return data!.job_id;
}
const row = async (t: TestApp, id: string) => (await t.database.db.select().from(jobs).where(eq(jobs.id, id)))[0]!;
/** Makes a rescheduled job due now, instead of waiting out its backoff. */
const dueNow = (t: TestApp, id: string) => t.database.db.update(jobs).set({ nextDispatchAt: sql`now()` }).where(eq(jobs.id, id));

describe('dispatch to the ML server', () => {
  it('sends the v1.1 body with a downloadable presigned URL, our callback base and a string language, and moves the job to processing', async () => {
    const t = await createTestApp({}, undefined, { isolatedDatabase: true });
    try {
      const id = await newJob(t);
      await t.dispatcher.tick();
      await vi.waitFor(async () => expect((await row(t, id)).status).toBe('processing'), { timeout: 10_000 });
      const call = t.mlCalls.find((c) => c.body.job_id === id)!;
      const { callbackToken } = await row(t, id);
      expect(call.body).toMatchObject({ language: 'auto', fastapi_base_url: `http://backend.test/api/ml-callback/${callbackToken}` });
      const video = await t.fetch(String(call.body.video_url));
      expect(video.status).toBe(200);
      expect((await video.arrayBuffer()).byteLength).toBe(1024);
    } finally {
      await t.close();
    }
  });

  it('sends only {job_id, video_url} to a v1.0 ML server', async () => {
    const t = await createTestApp({ ML_API_VERSION: 'v1.0', ALLOW_UNSIGNED_CALLBACKS: 'true' }, undefined, { isolatedDatabase: true });
    try {
      const id = await newJob(t);
      await t.dispatcher.tick();
      await vi.waitFor(() => expect(t.mlCalls).toHaveLength(1), { timeout: 10_000 });
      expect(Object.keys(t.mlCalls[0]!.body).sort()).toEqual(['job_id', 'video_url']);
      expect(t.mlCalls[0]!.body.job_id).toBe(id);
    } finally {
      await t.close();
    }
  });

  it('retries a 503 with backoff and succeeds when the ML server is back', async () => {
    let answers = 0;
    const t = await createTestApp({}, () => (++answers < 3 ? new Response('busy', { status: 503 }) : Response.json({ status: 'processing' })), { isolatedDatabase: true });
    try {
      const id = await newJob(t);
      for (let i = 0; i < 3; i++) {
        await t.dispatcher.tick();
        await vi.waitFor(() => expect(answers).toBe(i + 1), { timeout: 10_000 });
        await vi.waitFor(async () => expect((await row(t, id)).dispatchedAt === null || (await row(t, id)).status === 'processing').toBe(true), { timeout: 10_000 });
        const r = await row(t, id);
        if (r.status === 'pending') {
          expect(r.nextDispatchAt!.getTime()).toBeGreaterThan(Date.now() + 2_000);
          await dueNow(t, id);
        }
      }
      await vi.waitFor(async () => expect((await row(t, id)).status).toBe('processing'), { timeout: 10_000 });
      expect((await row(t, id)).dispatchAttempts).toBe(3);
    } finally {
      await t.close();
    }
  });

  it('fails the job at once with the ML server\'s own code and message on a 4xx', async () => {
    const t = await createTestApp({}, (b) => Response.json({ error: { code: 'INVALID_REQUEST', message: 'video_url is required', job_id: b.job_id } }, { status: 400 }), { isolatedDatabase: true });
    try {
      const id = await newJob(t);
      await t.dispatcher.tick();
      await vi.waitFor(async () => expect((await row(t, id)).status).toBe('failed'), { timeout: 10_000 });
      const status = await t.client.GET('/api/upload-video/status/{job_id}', { params: { path: { job_id: id } } });
      expect(status.data).toMatchObject({ status: 'failed', error_code: 'INVALID_REQUEST', error_message: 'video_url is required' });
    } finally {
      await t.close();
    }
  });

  it('gives up after ML_DISPATCH_MAX_ATTEMPTS and says why', async () => {
    const t = await createTestApp({ ML_DISPATCH_MAX_ATTEMPTS: '2' }, () => new Response('down', { status: 502 }), { isolatedDatabase: true });
    try {
      const id = await newJob(t);
      await t.dispatcher.tick();
      await vi.waitFor(async () => expect((await row(t, id)).dispatchedAt).toBeNull(), { timeout: 10_000 });
      await dueNow(t, id);
      await t.dispatcher.tick();
      await vi.waitFor(async () => expect((await row(t, id)).status).toBe('failed'), { timeout: 10_000 });
      expect(await row(t, id)).toMatchObject({ errorCode: 'ML_SERVER_UNAVAILABLE', failedBy: 'backend', dispatchAttempts: 2 });
    } finally {
      await t.close();
    }
  });

  it('keeps at most ML_MAX_CONCURRENT_JOBS with the ML server and sends the rest in order as slots free', async () => {
    const t = await createTestApp({ ML_MAX_CONCURRENT_JOBS: '2' }, undefined, { isolatedDatabase: true });
    try {
      const ids: string[] = [];
      for (let i = 0; i < 4; i++) ids.push(await newJob(t));
      await t.dispatcher.tick();
      await vi.waitFor(() => expect(t.mlCalls).toHaveLength(2), { timeout: 10_000 });
      await t.dispatcher.tick();
      await new Promise((r) => setTimeout(r, 200));
      expect(t.mlCalls.map((c) => c.body.job_id)).toEqual(ids.slice(0, 2));
      // One finishes: the next in line goes out.
      const token = (await row(t, ids[0]!)).callbackToken;
      await t.fetch(`http://backend.test/api/ml-callback/${token}/api/upload-video/result`, {
        method: 'POST', headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ job_id: ids[0], status: 'completed', progress: 100, message: null, result: { segments: [] }, error_message: null, error_code: null }),
      });
      await t.dispatcher.tick();
      await vi.waitFor(() => expect(t.mlCalls.map((c) => c.body.job_id)).toEqual(ids.slice(0, 3)), { timeout: 10_000 });
      expect((await row(t, ids[3]!)).status).toBe('pending');
    } finally {
      await t.close();
    }
  });

  it('fails a job the ML server went silent on with PROCESSING_TIMEOUT, once, even with two watchdogs', async () => {
    const t = await createTestApp({ ML_JOB_TIMEOUT: '60' }, undefined, { isolatedDatabase: true });
    try {
      const id = await newJob(t);
      await t.dispatcher.tick();
      await vi.waitFor(async () => expect((await row(t, id)).status).toBe('processing'), { timeout: 10_000 });
      // The round the finished send starts runs a watchdog too: it must be over before the clock moves.
      await t.dispatcher.settled();
      await t.database.db.update(jobs).set({ lastHeardAt: sql`now() - interval '2 minutes'` }).where(eq(jobs.id, id));
      const counts = await Promise.all([t.dispatcher.watchdog(), t.dispatcher.watchdog()]);
      expect(counts.reduce((a, b) => a + b, 0)).toBe(1);
      expect(await row(t, id)).toMatchObject({ status: 'failed', errorCode: 'PROCESSING_TIMEOUT', failedBy: 'backend' });
    } finally {
      await t.close();
    }
  });

  it('fails a job that keeps reporting but has been processing longer than ML_MAX_PROCESSING_TIME', async () => {
    const t = await createTestApp({ ML_MAX_PROCESSING_TIME: '60' }, undefined, { isolatedDatabase: true });
    try {
      const id = await newJob(t);
      await t.dispatcher.tick();
      await vi.waitFor(async () => expect((await row(t, id)).status).toBe('processing'), { timeout: 10_000 });
      await t.dispatcher.settled();
      await t.database.db.update(jobs).set({ dispatchedAt: sql`now() - interval '2 minutes'`, lastHeardAt: sql`now()` }).where(eq(jobs.id, id));
      expect(await t.dispatcher.watchdog()).toBe(1);
      expect(await row(t, id)).toMatchObject({ status: 'failed', errorCode: 'PROCESSING_TIMEOUT', errorMessage: 'Processing took longer than 60 seconds.' });
    } finally {
      await t.close();
    }
  });

  it('leaves a cancel that arrived while the ML server was answering in place, and leases without a visible change', async () => {
    let seenDuringRequest: { status: string; version: number; updatedAt: Date } | undefined;
    const t: TestApp = await createTestApp({}, async (body) => {
      const id = String(body.job_id);
      const r = await row(t, id);
      seenDuringRequest = { status: r.status, version: r.version, updatedAt: r.updatedAt };
      const cancel = await t.client.POST('/api/upload-video/cancel/{job_id}', { params: { path: { job_id: id } } });
      expect(cancel.response.status).toBe(200);
      return Response.json({ job_id: id, status: 'processing' });
    }, { isolatedDatabase: true });
    try {
      const id = await newJob(t);
      const before = await row(t, id);
      await t.dispatcher.tick();
      await vi.waitFor(() => expect(t.mlCalls).toHaveLength(1), { timeout: 10_000 });
      await vi.waitFor(async () => expect((await row(t, id)).status).toBe('cancelled'), { timeout: 10_000 });
      await t.dispatcher.stop();
      expect(seenDuringRequest).toEqual({ status: 'pending', version: before.version, updatedAt: before.updatedAt });
      const kinds = (await t.database.db.select().from(jobEvents).where(eq(jobEvents.jobId, id))).map((e) => e.kind);
      expect(kinds).toEqual(['created', 'cancelled']);
      expect(await row(t, id)).toMatchObject({ status: 'cancelled', message: 'Cancelled' });
    } finally {
      await t.close();
    }
  });

  it('records each retry as an event, with the attempt, the code and the wait', async () => {
    const t = await createTestApp({}, () => new Response('busy', { status: 503 }), { isolatedDatabase: true });
    try {
      const id = await newJob(t);
      await t.dispatcher.tick();
      await vi.waitFor(async () => expect((await row(t, id)).message).toBe('Waiting for the ML server'), { timeout: 10_000 });
      const [retry] = await t.database.db.select().from(jobEvents).where(and(eq(jobEvents.jobId, id), eq(jobEvents.kind, 'retry_scheduled')));
      expect(retry).toMatchObject({ fromStatus: 'pending', toStatus: 'pending', auth: 'backend', detail: { attempt: 1, code: expect.any(String), retry_in_ms: 5_000 } });
    } finally {
      await t.close();
    }
  });
});
