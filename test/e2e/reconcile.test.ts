/**
 * A lost completion callback, end to end: the backend is down when the ML server (which never retries)
 * finishes, so its completion goes nowhere; the backend that comes back asks the ML server about the
 * silent job and completes it within ML_RECONCILE_AFTER (server/jobs/reconcile.ts).
 */
import postgres from 'postgres';
import { describe, expect, it, vi } from 'vitest';
import { startBackend } from '../support/process.js';
import { jobStatus, json, requestProcess, scratchServices, startReferenceMl, upload } from './support.js';

const scratch = scratchServices('reconcile');
const track = scratch.track;

describe('a completion callback lost while the backend was down', () => {
  it('completes the job from the ML server\'s job status within the reconciliation interval', async () => {
    // Each of the ML server's stages takes 600 ms: time to take the backend down mid-job.
    const ml = track(await startReferenceMl('step=600'));
    const env = { DATABASE_URL: scratch.db.url, DATA_DIR: scratch.dataDir, MODEL_SERVER_URL: ml.url, RATE_LIMIT_PER_MINUTE: '0', ML_RECONCILE_AFTER: '1' };
    const first = track(await startBackend(env));
    const res = await requestProcess(first.url, await upload(first.url));
    const { job_id: id } = await json<{ job_id: string }>(res);
    // The ML server has the video (past the download stage): now the backend goes away, for good.
    await vi.waitFor(async () => expect((await jobStatus(first.url, id)).progress).toBeGreaterThanOrEqual(25), { timeout: 20_000, interval: 100 });
    expect(await first.kill('SIGKILL')).toBeNull();

    // The ML server finishes; its completion callback (to the dead backend's URL) is lost. The
    // reference server's SDK client retries each remaining progress callback to the dead backend (5
    // attempts, about 7.5 s with its backoff) before going on, so the finish can take 30 s or more.
    await vi.waitFor(async () => expect((await json<{ status: string }>(fetch(`${ml.url}/api/upload-video/status/${id}`))).status).toBe('completed'), { timeout: 75_000, interval: 200 });

    // Another backend on the same database (at another address: nothing will ever call it back).
    const second = track(await startBackend(env));
    const back = Date.now();
    await vi.waitFor(async () => expect((await jobStatus(second.url, id)).status).toBe('completed'), { timeout: 15_000, interval: 200 });
    expect(Date.now() - back).toBeLessThan(10_000);
    const done = await jobStatus(second.url, id);
    expect(done.progress).toBe(100);
    expect(done.result!.metadata!.model_version).toMatch(/^reference-ml-server/);

    const sql = postgres(scratch.db.url, { max: 1, onnotice: () => {} });
    try {
      const events = await sql<{ kind: string; auth: string; to_status: string; detail: unknown }[]>`
        select kind, auth, to_status, detail from job_events where job_id = ${id} order by id`;
      expect(events.at(-1)).toEqual({ kind: 'callback', auth: 'backend', to_status: 'completed', detail: { source: 'reconcile' } });
    } finally {
      await sql.end();
    }
  }, 150_000);
});
