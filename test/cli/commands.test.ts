/**
 * `ecg status`, `ecg cancel`, `ecg health`, and `ecg transcribe` on a job that fails, against the
 * backend whose reference ML server fails every job after its 40 % stage (`ML_BEHAVIOUR=fail=...`),
 * a second a stage, so a new job can still be cancelled seconds after it starts, even under load.
 * Plain runs, no terminal: these outputs are the same either way.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildCli } from './build.js';
import { runCli } from './run.js';
import { createJob, jobStatus, type Service,startService, videoFile } from './services.js';

let cli: string;
let service: Service;
beforeAll(async () => {
  [cli, service] = await Promise.all([buildCli(), startService({ mlBehaviour: 'step=1000,fail=PROCESSING_ERROR' })]);
}, 180_000);
afterAll(async () => service?.stop(), 60_000);

const ecg = (...args: string[]) => runCli(cli, args, { ECG_BASE_URL: service.url });

describe('a job that fails', () => {
  it('ends transcribe with exit 1 and the backend error code and message, with nothing on stdout', async () => {
    const file = await videoFile(service.dir, 'doomed.mp4', 200_000);
    const r = await ecg('transcribe', file);
    expect(r.code).toBe(1);
    expect(r.stdout).toBe('');
    const jobId = /^Job ([0-9a-f-]{36})$/m.exec(r.stderr)?.[1];
    expect(jobId).toBeDefined();
    expect(r.stderr).toContain(`Job ${jobId} failed: PROCESSING_ERROR: Failed on purpose (ML_BEHAVIOUR=fail)`);

    const status = await ecg('status', jobId!);
    expect(status.code).toBe(0);
    expect(status.stdout).toMatch(/^status +failed$/m);
    expect(status.stdout).toMatch(/^error +PROCESSING_ERROR: Failed on purpose/m);
    const json = await ecg('status', jobId!, '--json');
    expect(JSON.parse(json.stdout)).toMatchObject({ job_id: jobId, status: 'failed', error_code: 'PROCESSING_ERROR' });

    const cancel = await ecg('cancel', jobId!);
    expect(cancel.code).toBe(1);
    expect(cancel.stderr).toMatch(/^ecg: JOB_NOT_CANCELLABLE: /m);
  }, 60_000);
});

describe('status and cancel', () => {
  it('cancel cancels a job that has not ended, and status then reports it cancelled', async () => {
    const jobId = await createJob(service.url);
    const r = await ecg('cancel', jobId);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(new RegExp(`^Cancelled job ${jobId}: .+`));
    expect((await jobStatus(service.url, jobId)).status).toBe('cancelled');
    const status = await ecg('status', jobId);
    expect(status.stdout).toMatch(/^status +cancelled$/m);
  }, 30_000);

  it('status of a job the backend does not know exits 1 with JOB_NOT_FOUND', async () => {
    const r = await ecg('status', crypto.randomUUID());
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/^ecg: JOB_NOT_FOUND: /m);
  }, 30_000);
});

describe('health', () => {
  it('reports the backend and the ML server healthy and exits 0', async () => {
    const r = await ecg('health');
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(new RegExp(`^backend +${service.url.replaceAll('.', '\\.')}: ok \\(version [^;]+; database up [\\d.]+ ms, storage up [\\d.]+ ms\\)$`, 'm'));
    expect(r.stdout).toMatch(/^ML server +healthy \(\d+ ms, HTTP 200\)$/m);
  }, 30_000);
});
