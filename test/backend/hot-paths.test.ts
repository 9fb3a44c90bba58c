/**
 * The hot paths keep their guarantees: concurrent callbacks through two backend processes (each with
 * its own snapshots and version cache) end in exactly one terminal transition, a poller never goes
 * back to an older version (nor stays on a stale one for longer than the version cache trusts an entry,
 * when a notification was lost), and the job list pages by cursor without gaps or repeats.
 */
import { and, eq } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { jobEvents, jobs } from '../../drizzle/schema.js';
import { VERSION_TRUST_MS } from '../../server/jobs/events.js';
import { createTestApp, type TestApp } from '../support/app.js';

let a: TestApp;
let b: TestApp;
beforeAll(async () => {
  [a, b] = await Promise.all([createTestApp(), createTestApp()]);
});
afterAll(async () => Promise.all([a.close(), b.close()]));

const TERMINAL = ['completed', 'failed', 'cancelled'];

/** A job the ML server is working on, and its per-job callback token. */
async function processingJob(): Promise<{ id: string; token: string }> {
  const key = await a.upload();
  const { data } = await a.client.POST('/api/upload-video/request-process', { body: { fileKey: key } });
  const id = data!.job_id;
  const [{ callbackToken: token }] = (await a.database.db.select({ callbackToken: jobs.callbackToken }).from(jobs).where(eq(jobs.id, id))) as [{ callbackToken: string }];
  // The ML server's first progress report moves it to processing, as an accepted dispatch would.
  expect((await callback(a, token, { job_id: id, status: 'processing', progress: 1 })).status).toBe(200);
  return { id, token };
}

function callback(app: TestApp, token: string, body: Record<string, unknown>) {
  return app.fetch(`http://backend.test/api/ml-callback/${token}/api/upload-video/result`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ progress: null, message: null, result: null, error_code: null, error_message: null, ...body }),
  });
}

const RESULT = { text: 'hello', segments: [{ start: 0, end: 1, text: 'hello', speaker: 'SPEAKER_00', words: [{ word: 'hello', start: 0, end: 1 }] }] };

describe('concurrent callbacks', () => {
  it('50 mixed callbacks on one job, through two processes, end in exactly one terminal event that matches the job', async () => {
    const job = await processingJob();
    const bodies = Array.from({ length: 50 }, (_, i) =>
      i % 10 === 3 ? { job_id: job.id, status: 'completed', result: RESULT }
        : i % 10 === 7 ? { job_id: job.id, status: 'failed', error_code: 'GPU_OOM', error_message: 'out of memory' }
          : { job_id: job.id, status: 'processing', progress: i * 2 });
    const answers = await Promise.all(bodies.map((body, i) => callback(i % 2 ? a : b, job.token, body)));
    expect(answers.map((r) => r.status)).toEqual(bodies.map(() => 200));
    const events = await a.database.db.select().from(jobEvents).where(and(eq(jobEvents.jobId, job.id), eq(jobEvents.kind, 'callback')));
    expect(events).toHaveLength(51);
    const terminal = events.filter((e) => TERMINAL.includes(e.toStatus!) && !TERMINAL.includes(e.fromStatus!));
    expect(terminal).toHaveLength(1);
    const [row] = await a.database.db.select().from(jobs).where(eq(jobs.id, job.id));
    expect(row!.status).toBe(terminal[0]!.toStatus);
    // Every transition before the terminal one moved from the state the one before it left.
    const applied = events.filter((e) => e.fromStatus === 'processing').sort((x, y) => x.id - y.id);
    expect(applied.at(-1)!.id).toBe(terminal[0]!.id);
    const status = await b.client.GET('/api/upload-video/status/{job_id}', { params: { path: { job_id: job.id } } });
    expect(status.data!.status).toBe(row!.status);
  });

  it('applies a callback decided on a snapshot another process has since moved, through the locked path', async () => {
    const job = await processingJob();
    // Process b learns the job's snapshot, then a moves it: b's next callback is decided on a stale snapshot.
    expect((await callback(b, job.token, { job_id: job.id, status: 'processing', progress: 10 })).status).toBe(200);
    expect((await callback(a, job.token, { job_id: job.id, status: 'processing', progress: 20 })).status).toBe(200);
    const late = await callback(b, job.token, { job_id: job.id, status: 'processing', progress: 30 });
    expect(await late.json()).toMatchObject({ status: 'received' });
    const [row] = await a.database.db.select().from(jobs).where(eq(jobs.id, job.id));
    expect(row!.progress).toBe(30);
  });
});

describe('the status poll', () => {
  it('never answers a poller with an older version than one it has seen, while another process changes the job', async () => {
    const job = await processingJob();
    let etag: string | undefined;
    let seen = -1;
    const path = `http://backend.test/api/upload-video/status/${job.id}`;
    for (let i = 1; i <= 15; i++) {
      await callback(b, job.token, { job_id: job.id, status: 'processing', progress: i * 5 });
      for (const app of [a, b]) {
        const res = await app.fetch(path, etag ? { headers: { 'If-None-Match': etag } } : {});
        const now = res.headers.get('etag')!;
        const version = Number(/-(\d+)"$/.exec(now)![1]);
        expect(version).toBeGreaterThanOrEqual(seen);
        if (res.status === 200) expect(((await res.json()) as { progress: number }).progress).toBeGreaterThanOrEqual(seen < 0 ? 0 : 5);
        seen = version;
        etag = now;
      }
    }
    // Once the notifications are in, both processes say the newest version.
    await new Promise((r) => setTimeout(r, 300));
    const [row] = await a.database.db.select().from(jobs).where(eq(jobs.id, job.id));
    for (const app of [a, b]) expect((await app.fetch(path, { headers: { 'If-None-Match': `W/"${job.id}-${row!.version}"` } })).status).toBe(304);
  });

  it('learns of a change whose notification never came (its writer died after the commit) within VERSION_TRUST_MS, and never goes back', async () => {
    const job = await processingJob();
    const path = `http://backend.test/api/upload-video/status/${job.id}`;
    const first = await a.fetch(path);
    const etag = first.headers.get('etag')!;
    expect((await a.fetch(path, { headers: { 'If-None-Match': etag } })).status).toBe(304);
    // What a process that crashed between its commit and its notification leaves behind: a newer row nobody announced.
    const [row] = await a.database.sql<{ version: number }[]>`update jobs set progress = 77, version = version + 1, updated_at = now() where id = ${job.id} returning version`;
    const started = Date.now();
    let res = await a.fetch(path, { headers: { 'If-None-Match': etag } });
    // Until the cache entry ages out, the poller may hear "unchanged" (its own version, never an older one)...
    while (res.status === 304 && Date.now() - started < VERSION_TRUST_MS + 2_000) {
      expect(res.headers.get('etag')).toBe(etag);
      await new Promise((r) => setTimeout(r, 250));
      res = await a.fetch(path, { headers: { 'If-None-Match': etag } });
    }
    // ...and then the change, read from the database.
    expect(res.status).toBe(200);
    expect(Date.now() - started).toBeLessThanOrEqual(VERSION_TRUST_MS + 1_000);
    expect(res.headers.get('etag')).toBe(`W/"${job.id}-${row!.version}"`);
    expect(((await res.json()) as { progress: number }).progress).toBe(77);
    // Leave no processing job behind: the test database is shared, and dispatch tests count them.
    expect((await callback(b, job.token, { job_id: job.id, status: 'failed', error_code: 'X', error_message: 'done' })).status).toBe(200);
  }, 15_000);
});

describe('the job list by cursor', () => {
  it('walks every job newest first without gaps or repeats, with total only on the page asked without a cursor', async () => {
    const admin = 'admin-token-0123456789abcdef';
    const t = await createTestApp({ ADMIN_TOKEN: admin }, undefined, { isolatedDatabase: true });
    try {
      const made: string[] = [];
      for (let i = 0; i < 7; i++) {
        const { data } = await t.client.POST('/api/upload-video/request-process', { body: { fileKey: await t.upload() } });
        made.push(data!.job_id);
      }
      const headers = { Authorization: `Bearer ${admin}` };
      const first = await t.client.GET('/api/upload-video/jobs', { params: { query: { limit: 3 } }, headers });
      expect(first.data!.total).toBe(7);
      const walked = first.data!.jobs.map((j) => j.job_id);
      let cursor = first.data!.next_cursor;
      while (cursor) {
        const page = await t.client.GET('/api/upload-video/jobs', { params: { query: { limit: 3, cursor } }, headers });
        expect(page.response.status).toBe(200);
        expect(page.data!.total).toBeUndefined();
        walked.push(...page.data!.jobs.map((j) => j.job_id));
        cursor = page.data!.next_cursor;
      }
      expect(walked).toEqual([...made].reverse());
      const filtered = await t.client.GET('/api/upload-video/jobs', { params: { query: { limit: 2, status: 'completed' } }, headers });
      expect(filtered.data).toMatchObject({ jobs: [], total: 0, next_cursor: null });
      const forged = await t.client.GET('/api/upload-video/jobs', { params: { query: { cursor: 'bm90LWEtY3Vyc29y' } }, headers });
      expect(forged.response.status).toBe(422);
    } finally {
      await t.close();
    }
  });
});
