/**
 * Recovering a lost completion (server/jobs/reconcile.ts): a processing job the ML server went silent
 * on is looked up with getMlJobStatus, at most once per interval across processes.
 */
import { asc, eq } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import type { JobStatusOutcome } from '@ecg/sdk/ml-client';
import { jobEvents } from '../../drizzle/schema.js';
import { reconcile } from '../../server/jobs/reconcile.js';
import { createJobStore } from '../../server/jobs/store.js';
import { createLogger } from '../../server/logger.js';
import { createTestApp, type TestApp } from '../support/app.js';

let t: TestApp;
beforeAll(async () => {
  // A database of its own: reconcile claims every silent job in it.
  t = await createTestApp({ RATE_LIMIT_PER_MINUTE: '0' }, undefined, { isolatedDatabase: true });
});
afterAll(async () => {
  await t?.close();
});

const logger = createLogger('silent');
const RESULT = { text: 'hello there', language: 'en', segments: [{ start: 0, end: 1, text: 'hello there', speaker: 'SPEAKER_00' }] };

/** A job the ML server has accepted (processing) and then not spoken about. */
async function processingJob(): Promise<string> {
  const { data } = await t.client.POST('/api/upload-video/request-process', { body: { fileKey: await t.upload() } });
  await vi.waitFor(async () => {
    await t.dispatcher.tick();
    const { data: status } = await t.client.GET('/api/upload-video/status/{job_id}', { params: { path: { job_id: data!.job_id } } });
    expect(status!.status).toBe('processing');
  }, { timeout: 10_000, interval: 50 });
  return data!.job_id;
}

/** A fake ML server's job-status operation that answers `answer` and records what it was asked. */
function mlAnswering(answer: (id: string) => JobStatusOutcome) {
  const asked: string[] = [];
  return { asked, jobStatus: (id: string) => (asked.push(id), Promise.resolve(answer(id))) };
}

const settle = () => new Promise((r) => setTimeout(r, 30));

describe('reconciling silent jobs with the ML server', () => {
  it('completes a job from a completed answer, recorded as a backend callback from reconcile, and asks once per interval', async () => {
    const id = await processingJob();
    await settle();
    const jobs = createJobStore(t.database.db);
    const ml = mlAnswering((job_id) => ({ ok: true, status: 200, body: { job_id, status: 'completed', progress: 100, message: 'done', result: RESULT } }));
    expect(await reconcile({ jobs, ml, logger, afterMs: 10 })).toBe(1);
    expect(ml.asked).toEqual([id]);

    const { data } = await t.client.GET('/api/upload-video/status/{job_id}', { params: { path: { job_id: id } } });
    expect(data).toMatchObject({ status: 'completed', progress: 100 });
    expect(data!.result!.text).toBe('hello there');
    const events = await t.database.db.select().from(jobEvents).where(eq(jobEvents.jobId, id)).orderBy(asc(jobEvents.id));
    expect(events.at(-1)).toMatchObject({ kind: 'callback', fromStatus: 'processing', toStatus: 'completed', auth: 'backend', detail: { source: 'reconcile' } });

    // Finished now: never asked about again.
    await settle();
    await reconcile({ jobs, ml, logger, afterMs: 10 });
    expect(ml.asked).toEqual([id]);
  });

  it('asks about a job at most once per interval, even from two processes at once', async () => {
    const id = await processingJob();
    await settle();
    const ml = mlAnswering((job_id) => ({ ok: true, status: 200, body: { job_id, status: 'processing', progress: 40 } }));
    const a = createJobStore(t.database.db);
    const b = createJobStore(t.database.db);
    await Promise.all([reconcile({ jobs: a, ml, logger, afterMs: 60_000 }), reconcile({ jobs: b, ml, logger, afterMs: 60_000 })]);
    expect(ml.asked).toEqual([]); // silent for less than the interval
    await Promise.all([reconcile({ jobs: a, ml, logger, afterMs: 10 }), reconcile({ jobs: b, ml, logger, afterMs: 10 })]);
    expect(ml.asked.filter((x) => x === id)).toHaveLength(1);
    await Promise.all([reconcile({ jobs: a, ml, logger, afterMs: 10_000 }), reconcile({ jobs: b, ml, logger, afterMs: 10_000 })]);
    expect(ml.asked.filter((x) => x === id)).toHaveLength(1);
    const { data } = await t.client.GET('/api/upload-video/status/{job_id}', { params: { path: { job_id: id } } });
    expect(data!.status).toBe('processing');
  });

  it('fails a job from a failed answer with the ML server code and message', async () => {
    const id = await processingJob();
    await settle();
    const ml = mlAnswering((job_id) => ({ ok: true, status: 200, body: { job_id, status: 'failed', error_code: 'AUDIO_EXTRACTION_ERROR', error_message: 'no audio track' } }));
    await reconcile({ jobs: createJobStore(t.database.db), ml, logger, afterMs: 10 });
    const { data } = await t.client.GET('/api/upload-video/status/{job_id}', { params: { path: { job_id: id } } });
    expect(data).toMatchObject({ status: 'failed', error_code: 'AUDIO_EXTRACTION_ERROR', error_message: 'no audio track' });
  });

  it('changes nothing when the ML server has no such operation (404, 405) or does not answer', async () => {
    const answers: JobStatusOutcome[] = [
      { ok: false, kind: 'http', status: 404, code: 'NOT_FOUND', message: 'No such endpoint.' },
      { ok: false, kind: 'http', status: 405, code: 'ML_SERVER_ERROR', message: 'Method Not Allowed' },
      { ok: false, kind: 'network', message: 'connection refused' },
    ];
    for (const answer of answers) {
      const id = await processingJob();
      await settle();
      const ml = mlAnswering(() => answer);
      expect(await reconcile({ jobs: createJobStore(t.database.db), ml, logger, afterMs: 10 })).toBe(0);
      expect(ml.asked).toContain(id);
      const { data } = await t.client.GET('/api/upload-video/status/{job_id}', { params: { path: { job_id: id } } });
      expect(data!.status).toBe('processing');
    }
  });
});
