/**
 * The caller's own jobs (listMyJobs), deleting a job (deleteJob), retention, and the v1.1 status's
 * `current_stage` and `estimated_time_remaining` (docs/my-jobs.md), on the real app and PostgreSQL;
 * every exchange is checked against the spec.
 */
import { randomBytes } from 'node:crypto';
import { eq, sql } from 'drizzle-orm';
import { sign } from 'hono/jwt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { jobEvents, jobs } from '../../drizzle/schema.js';
import { createRetentionSweeper } from '../../server/jobs/retention.js';
import { createJobStore } from '../../server/jobs/store.js';
import { createLogger } from '../../server/logger.js';
import { startLocalS3 } from '../storage/local-s3.js';
import { createTestApp, type TestApp } from '../support/app.js';
import { invalidRequest } from '../support/contract.js';

const SECRET = 'jwt-secret-0123456789abcdef';
const ADMIN = 'admin-token-0123456789abcdef';
let t: TestApp;
let alice: string;
let bob: string;
const bearer = (token: string) => ({ Authorization: `Bearer ${token}` });

beforeAll(async () => {
  t = await createTestApp({ JWT_SECRET: SECRET, ADMIN_TOKEN: ADMIN });
  const exp = Math.floor(Date.now() / 1000) + 3600;
  alice = await sign({ sub: `alice-${Date.now()}`, exp }, SECRET, 'HS256');
  bob = await sign({ sub: `bob-${Date.now()}`, exp }, SECRET, 'HS256');
});
afterAll(async () => t.close());

async function newJob(token: string): Promise<{ id: string; key: string; callbackToken: string }> {
  const key = await t.upload(undefined, 'talk.mp4', 'video/mp4', token);
  const { data } = await t.client.POST('/api/upload-video/request-process', { body: { fileKey: key }, headers: bearer(token) });
  const [row] = await t.database.db.select({ callbackToken: jobs.callbackToken }).from(jobs).where(eq(jobs.id, data!.job_id));
  return { id: data!.job_id, key, callbackToken: row!.callbackToken };
}

const callback = (job: { id: string; callbackToken: string }, body: Record<string, unknown>) =>
  t.fetch(`http://backend.test/api/ml-callback/${job.callbackToken}/api/upload-video/result`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ job_id: job.id, status: 'processing', ...body }),
  });

const mine = (token: string, query: Record<string, string | number> = {}) =>
  t.client.GET('/api/upload-video/jobs/mine', { params: { query }, headers: bearer(token) });
const remove = (token: string, id: string, cancel?: boolean) =>
  t.client.DELETE('/api/upload-video/jobs/{job_id}', { params: { path: { job_id: id }, query: cancel === undefined ? {} : { cancel } }, headers: bearer(token) });
const status = (token: string, id: string) => t.client.GET('/api/upload-video/status/{job_id}', { params: { path: { job_id: id } }, headers: bearer(token) });

describe('listMyJobs', () => {
  it('lists only the caller\'s jobs, newest first, pages by cursor, and filters by status and creation time', async () => {
    const a = [await newJob(alice), await newJob(alice), await newJob(alice)];
    const b = await newJob(bob);
    await t.client.POST('/api/upload-video/cancel/{job_id}', { params: { path: { job_id: a[0]!.id } }, headers: bearer(alice) });

    const all = await mine(alice);
    expect(all.response.status).toBe(200);
    expect(all.data!.jobs.map((j) => j.job_id)).toEqual([a[2]!.id, a[1]!.id, a[0]!.id]);
    expect(all.data!.next_cursor).toBeNull();
    expect(all.data!.jobs[0]).not.toHaveProperty('result');
    expect((await mine(bob)).data!.jobs.map((j) => j.job_id)).toEqual([b.id]);

    const first = await mine(alice, { limit: 2 });
    expect(first.data!.jobs.map((j) => j.job_id)).toEqual([a[2]!.id, a[1]!.id]);
    const second = await mine(alice, { limit: 2, cursor: first.data!.next_cursor! });
    expect(second.data!.jobs.map((j) => j.job_id)).toEqual([a[0]!.id]);
    expect(second.data!.next_cursor).toBeNull();

    expect((await mine(alice, { status: 'cancelled' })).data!.jobs.map((j) => j.job_id)).toEqual([a[0]!.id]);
    const created = new Date(all.data!.jobs[1]!.created_at);
    const after = await mine(alice, { created_after: created.toISOString() });
    expect(after.data!.jobs.map((j) => j.job_id)).toEqual([a[2]!.id, a[1]!.id]);
    const before = await mine(alice, { created_before: created.toISOString() });
    expect(before.data!.jobs.map((j) => j.job_id)).toEqual([a[0]!.id]);
  });

  it('needs a token, refuses a bad filter naming the field, and does not exist in open mode', async () => {
    const anonymous = await t.client.GET('/api/upload-video/jobs/mine', {});
    expect(anonymous.response.status).toBe(401);
    const bad = await t.client.GET('/api/upload-video/jobs/mine', {
      params: { query: { created_after: 'yesterday' } },
      headers: invalidRequest('created_after is not a date-time', bearer(alice)),
    });
    expect(bad.response.status).toBe(422);
    expect(bad.error!.message).toContain('created_after');
    const open = await createTestApp();
    try {
      const res = await open.client.GET('/api/upload-video/jobs/mine', {});
      expect(res.response.status).toBe(404);
      expect(res.error).toMatchObject({ error: 'NOT_FOUND' });
    } finally {
      await open.close();
    }
  });
});

describe('deleteJob', () => {
  it('deletes a finished job, its events, its result and its video; again answers 204', async () => {
    const job = await newJob(alice);
    await callback(job, { status: 'completed', progress: 100, result: { segments: [] } });
    expect(await t.storage.head(job.key)).not.toBeNull();
    const before = await status(alice, job.id);
    const etag = before.response.headers.get('etag')!;
    const unchanged = await t.client.GET('/api/upload-video/status/{job_id}', { params: { path: { job_id: job.id }, header: { 'If-None-Match': etag } }, headers: bearer(alice) });
    expect(unchanged.response.status).toBe(304);
    const first = await remove(alice, job.id);
    expect(first.response.status).toBe(204);
    expect(await t.database.db.select().from(jobs).where(eq(jobs.id, job.id))).toEqual([]);
    expect(await t.database.db.select().from(jobEvents).where(eq(jobEvents.jobId, job.id))).toEqual([]);
    expect(await t.storage.head(job.key)).toBeNull();
    expect((await status(alice, job.id)).response.status).toBe(404);
    // The version cache forgot the job: its old ETag gets a 404, not a 304.
    const stale = await t.client.GET('/api/upload-video/status/{job_id}', { params: { path: { job_id: job.id }, header: { 'If-None-Match': etag } }, headers: bearer(alice) });
    expect(stale.response.status).toBe(404);
    expect((await remove(alice, job.id)).response.status).toBe(204);
    expect((await mine(alice)).data!.jobs.map((j) => j.job_id)).not.toContain(job.id);
  });

  it('leaves another user\'s job alone (204, as for a job that does not exist), and lets the administrator delete it', async () => {
    const job = await newJob(alice);
    await callback(job, { status: 'failed', error_code: 'PROCESSING_ERROR' });
    expect((await remove(bob, job.id)).response.status).toBe(204);
    expect((await status(alice, job.id)).response.status).toBe(200);
    expect(await t.storage.head(job.key)).not.toBeNull();
    expect((await remove(ADMIN, job.id)).response.status).toBe(204);
    expect((await status(alice, job.id)).response.status).toBe(404);
    expect(await t.storage.head(job.key)).toBeNull();
  });

  it('answers 409 while the ML server works on the job, and with cancel=true cancels it through the lifecycle and deletes it', async () => {
    const job = await newJob(alice);
    await callback(job, { progress: 30 });
    const refused = await remove(alice, job.id);
    expect(refused.response.status).toBe(409);
    expect(refused.error).toMatchObject({ error: 'CONFLICT' });
    expect((await status(alice, job.id)).data!.status).toBe('processing');
    const done = await remove(alice, job.id, true);
    expect(done.response.status).toBe(204);
    expect((await status(alice, job.id)).response.status).toBe(404);
    expect(await t.storage.head(job.key)).toBeNull();
  });

  it('deletes a pending job not yet handed to the ML server at once, and keeps a file another job still uses', async () => {
    const key = await t.upload(undefined, 'shared.mp4', 'video/mp4', alice);
    const ids: string[] = [];
    for (let i = 0; i < 2; i += 1) {
      const { data } = await t.client.POST('/api/upload-video/request-process', { body: { fileKey: key }, headers: bearer(alice) });
      ids.push(data!.job_id);
    }
    expect((await remove(alice, ids[0]!)).response.status).toBe(204);
    expect(await t.storage.head(key)).not.toBeNull();
    expect((await remove(alice, ids[1]!)).response.status).toBe(204);
    expect(await t.storage.head(key)).toBeNull();
  });

  it('is allowed by CORS, so a frontend on another origin can delete', async () => {
    const preflight = await t.app.fetch(
      new Request('http://backend.test/api/upload-video/jobs/00000000-0000-4000-8000-000000000000', {
        method: 'OPTIONS',
        headers: { Origin: 'https://app.example.com', 'Access-Control-Request-Method': 'DELETE', 'Access-Control-Request-Headers': 'authorization' },
      }),
    );
    expect(preflight.status).toBe(204);
    expect(preflight.headers.get('access-control-allow-methods')).toContain('DELETE');
  });

  it('answers 204 for an id that never existed and 401 without a token', async () => {
    expect((await remove(alice, '00000000-0000-4000-8000-000000000000')).response.status).toBe(204);
    const anonymous = await t.client.DELETE('/api/upload-video/jobs/{job_id}', { params: { path: { job_id: '00000000-0000-4000-8000-000000000000' } } });
    expect(anonymous.response.status).toBe(401);
  });
});

describe('current_stage and estimated_time_remaining', () => {
  it('are sent while the job is live, follow the progress rate, and are gone once it is terminal', async () => {
    const job = await newJob(alice);
    const pending = (await status(alice, job.id)).data!;
    expect(pending).toMatchObject({ status: 'pending', current_stage: 'queued', estimated_time_remaining: null });

    // The ML server took the job 30 seconds ago and now reports a quarter done: about 90 seconds left.
    await callback(job, { progress: 5 });
    await t.database.db.execute(sql`update jobs set dispatched_at = now() - interval '30 seconds' where id = ${job.id}::uuid`);
    await callback(job, { progress: 25, message: 'Transcribing with WhisperX' });
    const running = (await status(alice, job.id)).data!;
    expect(running.current_stage).toBe('transcribing');
    expect(running.estimated_time_remaining).toBeGreaterThanOrEqual(88);
    expect(running.estimated_time_remaining).toBeLessThanOrEqual(95);

    await callback(job, { progress: 50, message: null });
    expect((await status(alice, job.id)).data!.current_stage).toBe('identifying_speakers');

    await callback(job, { status: 'completed', progress: 100, result: { segments: [] } });
    const done = (await status(alice, job.id)).data!;
    expect(done.status).toBe('completed');
    expect(done).not.toHaveProperty('current_stage');
    expect(done).not.toHaveProperty('estimated_time_remaining');
  });
});

describe('retention', () => {
  it('deletes old finished jobs\' videos once across two concurrent sweepers, recording video_deleted, and leaves live jobs', async () => {
    // A database of its own: the sweep takes every old finished job in it.
    const r = await createTestApp({ JWT_SECRET: SECRET }, undefined, { isolatedDatabase: true });
    const logger = createLogger('silent');
    try {
      const job = async () => {
        const key = await r.upload(undefined, 'old.mp4', 'video/mp4', bob);
        const { data } = await r.client.POST('/api/upload-video/request-process', { body: { fileKey: key }, headers: bearer(bob) });
        return { id: data!.job_id, key };
      };
      const finished = [];
      for (let i = 0; i < 7; i += 1) finished.push(await job());
      const live = await job();
      // Finished three days ago (the cancel is the lifecycle's; the ageing stands in for the wait).
      for (const f of finished) await r.client.POST('/api/upload-video/cancel/{job_id}', { params: { path: { job_id: f.id } }, headers: bearer(bob) });
      await r.database.db.execute(sql`update jobs set updated_at = now() - interval '3 days'`);
      const sweeper = () =>
        createRetentionSweeper({ jobs: createJobStore(r.database.db), storage: r.storage, logger, retentionMs: 2 * 86_400_000, deleteJobs: false, batch: 2 });
      const [one, two] = [sweeper(), sweeper()];
      let total = 0;
      for (let round = 0; round < 3; round += 1) {
        const [x, y] = await Promise.all([one.sweep(), two.sweep()]);
        total += x + y;
      }
      expect(total).toBe(finished.length);
      expect(await Promise.all([one.sweep(), two.sweep()])).toEqual([0, 0]);
      for (const f of finished) {
        const events = await r.database.db.select().from(jobEvents).where(eq(jobEvents.jobId, f.id));
        expect(events.filter((e) => e.kind === 'video_deleted')).toHaveLength(1);
        expect(await r.storage.head(f.key)).toBeNull();
        const st = await r.client.GET('/api/upload-video/status/{job_id}', { params: { path: { job_id: f.id } }, headers: bearer(bob) });
        expect(st.data!.status).toBe('cancelled');
        const video = await r.client.GET('/api/upload-video/video/{job_id}', { params: { path: { job_id: f.id } }, headers: bearer(bob) });
        expect(video.response.status).toBe(404);
        expect(video.error).toMatchObject({ error: 'FILE_NOT_FOUND' });
      }
      expect(await r.storage.head(live.key)).not.toBeNull();

      // With RETENTION_DELETE_JOBS, the jobs themselves go; the live one stays.
      const deleter = createRetentionSweeper({ jobs: createJobStore(r.database.db), storage: r.storage, logger, retentionMs: 2 * 86_400_000, deleteJobs: true });
      expect(await deleter.sweep()).toBe(finished.length);
      expect((await r.database.db.select({ id: jobs.id }).from(jobs)).map((j) => j.id)).toEqual([live.id]);
    } finally {
      await r.close();
    }
  });
});

describe('on the S3 driver (s3rver)', () => {
  it('deleteJob and retention delete the video object from the bucket', async () => {
    const s3 = await startLocalS3();
    const a = await createTestApp({}, undefined, { storage: s3.storage, isolatedDatabase: true });
    try {
      const job = async () => {
        // Straight to the bucket: the test app's fetch reaches only the app.
        const key = `videos/anonymous/20250101_000000_${randomBytes(4).toString('hex')}_bucket.mp4`;
        const up = await s3.storage.presignUpload(key, { contentType: 'video/mp4', maxBytes: 1_000_000, expiresIn: 600 });
        expect((await fetch(up.url, { method: 'PUT', headers: up.headers, body: new Uint8Array(2048).fill(9) })).status).toBe(200);
        const { data } = await a.client.POST('/api/upload-video/request-process', { body: { fileKey: key } });
        await a.client.POST('/api/upload-video/cancel/{job_id}', { params: { path: { job_id: data!.job_id } } });
        return { id: data!.job_id, key };
      };
      const deleted = await job();
      expect(await s3.storage.head(deleted.key)).toMatchObject({ size: 2048 });
      const res = await a.client.DELETE('/api/upload-video/jobs/{job_id}', { params: { path: { job_id: deleted.id } } });
      expect(res.response.status).toBe(204);
      expect(await s3.storage.head(deleted.key)).toBeNull();

      const old = await job();
      await a.database.db.execute(sql`update jobs set updated_at = now() - interval '2 days' where id = ${old.id}::uuid`);
      const sweeper = createRetentionSweeper({ jobs: createJobStore(a.database.db), storage: s3.storage, logger: createLogger('silent'), retentionMs: 86_400_000, deleteJobs: false });
      expect(await sweeper.sweep()).toBe(1);
      expect(await s3.storage.head(old.key)).toBeNull();
    } finally {
      await a.close();
      await s3.close();
    }
  });
});
