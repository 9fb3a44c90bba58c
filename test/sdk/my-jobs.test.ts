/**
 * listMyJobs and deleteJob of the frontend client against the real app (in-process, on this run's
 * Postgres, authentication on): typed pages, filters, the 409 and `cancel`, idempotent deletes.
 */
import { sign } from 'hono/jwt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type BackendClient, createBackendClient, EcgApiError } from '../../sdk/src/index.js';
import { createTestApp, PUBLIC_BASE, type TestApp } from '../support/app.js';

const SECRET = 'sdk-jwt-secret-0123456789abcdef';
let t: TestApp;
let ecg: BackendClient;
let other: BackendClient;
let token: string;

beforeAll(async () => {
  t = await createTestApp({ JWT_SECRET: SECRET });
  const exp = Math.floor(Date.now() / 1000) + 3600;
  token = await sign({ sub: `sdk-${crypto.randomUUID()}`, exp }, SECRET, 'HS256');
  const stranger = await sign({ sub: `sdk-${crypto.randomUUID()}`, exp }, SECRET, 'HS256');
  const fetch = (req: Request) => t.fetch(req);
  ecg = createBackendClient({ baseUrl: PUBLIC_BASE, token: () => token, fetch, retry: { baseDelayMs: 1 } });
  other = createBackendClient({ baseUrl: PUBLIC_BASE, token: stranger, fetch, retry: { baseDelayMs: 1 } });
}, 60_000);
afterAll(async () => {
  await t?.close();
});

async function newJob(): Promise<string> {
  const fileKey = await t.upload(new Uint8Array(512).fill(1), 'talk.mp4', 'video/mp4', token);
  return (await ecg.requestProcess({ fileKey })).job_id;
}

describe('listMyJobs and deleteJob', () => {
  it('pages the caller\'s own jobs newest first, with filters, and nobody else\'s', async () => {
    const ids = [await newJob(), await newJob(), await newJob()];
    const first = await ecg.listMyJobs({ limit: 2 });
    expect(first.jobs.map((j) => j.job_id)).toEqual([ids[2], ids[1]]);
    const rest = await ecg.listMyJobs({ limit: 2, cursor: first.next_cursor! });
    expect(rest.jobs.map((j) => j.job_id)).toEqual([ids[0]]);
    expect(rest.next_cursor).toBeNull();
    const since = await ecg.listMyJobs({ createdAfter: new Date(first.jobs[1]!.created_at), status: 'pending' });
    expect(since.jobs.map((j) => j.job_id)).toEqual([ids[2], ids[1]]);
    expect((await other.listMyJobs()).jobs).toEqual([]);
  });

  it('deletes a job, again without error, refuses a running one with CONFLICT unless cancel is set', async () => {
    const id = await newJob();
    await other.deleteJob(id);
    expect((await ecg.getStatus(id)).job_id).toBe(id);
    await ecg.cancel(id);
    await ecg.deleteJob(id);
    await ecg.deleteJob(id);
    await expect(ecg.getStatus(id)).rejects.toMatchObject({ code: 'JOB_NOT_FOUND' });

    const running = await newJob();
    await t.database.sql`update jobs set dispatched_at = now() where id = ${running}::uuid`;
    const err = await ecg.deleteJob(running).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(EcgApiError);
    expect(err).toMatchObject({ status: 409, code: 'CONFLICT' });
    await ecg.deleteJob(running, { cancel: true });
    await expect(ecg.getStatus(running)).rejects.toMatchObject({ status: 404 });
  });
});
