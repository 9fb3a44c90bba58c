/**
 * The frontend client against the real app (in-process, on this run's Postgres): request ids from
 * the backend's own middleware, and a requestProcess whose answer is lost on the way back.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createBackendClient, EcgApiError } from '../../sdk/src/index.js';
import { createTestApp, PUBLIC_BASE, type TestApp } from '../support/app.js';

let t: TestApp;
beforeAll(async () => {
  t = await createTestApp();
}, 60_000);
afterAll(async () => {
  await t?.close();
});

describe('against the real app', () => {
  it('an error carries the X-Request-Id the backend answered with', async () => {
    const answered: (string | null)[] = [];
    const ecg = createBackendClient({
      baseUrl: PUBLIC_BASE,
      fetch: async (req) => {
        const res = await t.app.fetch(req);
        answered.push(res.headers.get('X-Request-Id'));
        return res;
      },
    });
    const err = await ecg.getStatus(crypto.randomUUID()).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(EcgApiError);
    expect(err).toMatchObject({ status: 404, code: 'JOB_NOT_FOUND', method: 'GET' });
    expect(answered).toHaveLength(1);
    expect(answered[0]).toBeTruthy();
    expect((err as EcgApiError).requestId).toBe(answered[0]);
  });

  it('a requestProcess whose answer is lost is repeated with the same Idempotency-Key and returns the one job created', async () => {
    const fileKey = await t.upload(new Uint8Array(2048).fill(3), `lost-${crypto.randomUUID()}.mp4`);
    const created: string[] = [];
    let dropped = false;
    const ecg = createBackendClient({
      baseUrl: PUBLIC_BASE,
      retry: { baseDelayMs: 1 },
      fetch: async (req) => {
        const res = await t.app.fetch(req);
        if (!req.url.endsWith('/request-process')) return res;
        created.push(((await res.clone().json()) as { job_id: string }).job_id);
        if (!dropped) {
          // The backend created the job; the connection breaks before its answer arrives.
          dropped = true;
          throw new TypeError('fetch failed', { cause: Object.assign(new Error('socket hang up'), { code: 'ECONNRESET' }) });
        }
        return res;
      },
    });
    const job = await ecg.requestProcess({ fileKey });
    expect(created).toHaveLength(2);
    expect(created[1]).toBe(created[0]);
    expect(job.job_id).toBe(created[0]);
    await expect(ecg.getStatus(job.job_id)).resolves.toMatchObject({ job_id: job.job_id });
  });

  it('a cancel whose answer is lost is repeated and answers the same', async () => {
    const fileKey = await t.upload(new Uint8Array(1024).fill(5), `cancel-${crypto.randomUUID()}.mp4`);
    let cancels = 0;
    const ecg = createBackendClient({
      baseUrl: PUBLIC_BASE,
      retry: { baseDelayMs: 1 },
      fetch: async (req) => {
        const res = await t.app.fetch(req);
        if (req.url.includes('/cancel/') && ++cancels === 1) throw new TypeError('fetch failed');
        return res;
      },
    });
    const { job_id } = await ecg.requestProcess({ fileKey });
    await expect(ecg.cancel(job_id)).resolves.toMatchObject({ job_id, status: 'cancelled' });
    expect(cancels).toBe(2);
  });
});
