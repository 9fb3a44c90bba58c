import { randomBytes, randomUUID } from 'node:crypto';
import { eq, sql } from 'drizzle-orm';
import { afterAll, describe, expect, it } from 'vitest';
import { jobEvents, jobs, type NewJobRow,webhookDeliveries } from '../../drizzle/schema.js';
import { pgErrorCode, testDatabase } from '../support/db.js';

const handle = testDatabase();
const { db } = handle;
afterAll(() => handle.close());

function newJob(overrides: Partial<NewJobRow> = {}): NewJobRow {
  return {
    id: randomUUID(),
    fileKey: `videos/anonymous/20250101_120000_${randomBytes(4).toString('hex')}_clip.mp4`,
    callbackToken: randomBytes(24).toString('base64url'),
    ...overrides,
  };
}

async function codeOf(promise: Promise<unknown>): Promise<string | undefined> {
  try {
    await promise;
  } catch (err) {
    return pgErrorCode(err) ?? `no code: ${String(err)}`;
  }
  return undefined;
}

describe('jobs table', () => {
  it('round-trips a row, jsonb included, with the documented defaults', async () => {
    const result = {
      text: '안녕하세요 \u00e9 "quoted" \\ back',
      language: 'ko',
      duration: 12.5,
      metadata: { model_version: 'large-v3', processing_time: 3.25, total_segments: 1, unique_speakers: 1 },
      speakers: ['SPEAKER_00'],
      segments: [
        {
          id: 0,
          start: 0,
          end: 1.5,
          text: null,
          speaker: { speaker_id: 'SPEAKER_00' },
          words: [{ word: 'hi', start: 0, end: 0.4, confidence: 0.99, volume_db: -20.1, pitch_hz: 180 }],
        },
      ],
    };
    const raw = { segments: [{ start_time: 0, end_time: 1.5 }], speakers: { SPEAKER_00: { total_duration: 1.5 } } };
    const job = newJob({ result, rawResult: raw, fileSize: 2 * 1024 ** 3, contentType: 'video/mp4', owner: 'alice' });
    await db.insert(jobs).values(job);

    const [row] = await db.select().from(jobs).where(eq(jobs.id, job.id));
    expect(row).toBeDefined();
    expect(row!.result).toEqual(result);
    expect(row!.rawResult).toEqual(raw);
    expect(row!.fileSize).toBe(2 * 1024 ** 3);
    expect(row!.status).toBe('pending');
    expect(row!.progress).toBe(0);
    expect(row!.language).toBe('auto');
    expect(row!.version).toBe(0);
    expect(row!.dispatchAttempts).toBe(0);
    expect(row!.failedBy).toBeNull();
    expect(row!.createdAt).toBeInstanceOf(Date);
    expect(row!.updatedAt.getTime()).toBe(row!.createdAt.getTime());

    // Relational query API works too (schema attached to the handle).
    const viaQuery = await db.query.jobs.findFirst({ where: eq(jobs.id, job.id) });
    expect(viaQuery?.callbackToken).toBe(job.callbackToken);
  });

  it('bumps version and updated_at on every Drizzle update', async () => {
    const job = newJob();
    await db.insert(jobs).values(job);
    const [before] = await db.select().from(jobs).where(eq(jobs.id, job.id));
    await new Promise((r) => setTimeout(r, 5));
    const [after1] = await db.update(jobs).set({ status: 'processing', progress: 10 }).where(eq(jobs.id, job.id)).returning();
    const [after2] = await db.update(jobs).set({ progress: 20 }).where(eq(jobs.id, job.id)).returning();
    expect(after1!.version).toBe(1);
    expect(after2!.version).toBe(2);
    expect(after1!.updatedAt.getTime()).toBeGreaterThan(before!.updatedAt.getTime());
  });

  it('rejects an unknown status, progress outside 0..100 and an unknown failed_by', async () => {
    const bad = (col: string, value: unknown) =>
      codeOf(db.insert(jobs).values({ ...newJob(), [col]: value }));
    expect(await bad('status', 'done')).toBe('23514');
    expect(await bad('progress', 101)).toBe('23514');
    expect(await bad('progress', -1)).toBe('23514');
    expect(await bad('failedBy', 'someone')).toBe('23514');
    expect(await codeOf(db.insert(jobs).values(newJob({ progress: 100, status: 'completed' })))).toBeUndefined();

    const job = newJob();
    await db.insert(jobs).values(job);
    expect(await codeOf(db.execute(sql`update jobs set progress = 101 where id = ${job.id}`))).toBe('23514');
  });

  it('keeps (owner, idempotency_key) unique, anonymous (null owner) included', async () => {
    const key = `idem-${randomUUID()}`;
    await db.insert(jobs).values(newJob({ owner: 'alice', idempotencyKey: key }));
    expect(await codeOf(db.insert(jobs).values(newJob({ owner: 'alice', idempotencyKey: key })))).toBe('23505');
    // Same key for another owner is fine.
    expect(await codeOf(db.insert(jobs).values(newJob({ owner: 'bob', idempotencyKey: key })))).toBeUndefined();

    await db.insert(jobs).values(newJob({ owner: null, idempotencyKey: key }));
    expect(await codeOf(db.insert(jobs).values(newJob({ owner: null, idempotencyKey: key })))).toBe('23505');

    // No key: never a conflict.
    const owner = `carol-${randomUUID()}`;
    await db.insert(jobs).values([newJob({ owner }), newJob({ owner }), newJob({ owner: null }), newJob({ owner: null })]);
  });

  it('supports ON CONFLICT on the idempotency index (insert-or-get)', async () => {
    const key = `idem-${randomUUID()}`;
    const insert = (id: string) =>
      db
        .insert(jobs)
        .values(newJob({ id, owner: null, idempotencyKey: key }))
        .onConflictDoNothing({
          target: [jobs.idempotencyOwner, jobs.idempotencyKey],
          where: sql`${jobs.idempotencyKey} is not null`,
        })
        .returning({ id: jobs.id });
    const first = randomUUID();
    expect(await insert(first)).toEqual([{ id: first }]);
    expect(await insert(randomUUID())).toEqual([]);
    const [row] = await db.select().from(jobs).where(eq(jobs.id, first));
    expect(row?.idempotencyOwner).toBe('');
  });
});

describe('job_events', () => {
  it('are deleted with their job', async () => {
    const job = newJob();
    await db.insert(jobs).values(job);
    await db.insert(jobEvents).values([
      { jobId: job.id, kind: 'created', toStatus: 'pending', auth: 'backend' },
      { jobId: job.id, kind: 'callback', fromStatus: 'pending', toStatus: 'processing', progress: 15, auth: 'token', detail: { message: 'x' } },
    ]);
    const events = await db.select().from(jobEvents).where(eq(jobEvents.jobId, job.id)).orderBy(jobEvents.id);
    expect(events.map((e) => e.kind)).toEqual(['created', 'callback']);
    expect(events[1]!.detail).toEqual({ message: 'x' });
    expect(typeof events[0]!.id).toBe('number');

    await db.delete(jobs).where(eq(jobs.id, job.id));
    expect(await db.select().from(jobEvents).where(eq(jobEvents.jobId, job.id))).toEqual([]);
  });

  it('refuse an unknown job', async () => {
    expect(await codeOf(db.insert(jobEvents).values({ jobId: randomUUID(), kind: 'created' }))).toBe('23503');
  });
});

describe('webhook_deliveries', () => {
  it('deduplicates webhook ids', async () => {
    const webhookId = `msg_${randomUUID()}`;
    await db.insert(webhookDeliveries).values({ webhookId, jobId: randomUUID() });
    expect(await codeOf(db.insert(webhookDeliveries).values({ webhookId }))).toBe('23505');
    const fresh = await db.insert(webhookDeliveries).values({ webhookId }).onConflictDoNothing().returning();
    expect(fresh).toEqual([]);
  });
});
