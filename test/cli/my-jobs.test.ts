/**
 * `ecg jobs` and `ecg delete`, against the backend as a process with API tokens on (each token its own
 * owner) and the reference ML server at a second a stage, so a job is still running when deleted.
 * Plain runs, and the list once on a real terminal (a tmux pane).
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildCli } from './build.js';
import { runCli } from './run.js';
import { createJob, jobStatus, type Service, startService } from './services.js';
import { haveTmux, runInTerminal } from './tmux.js';

const ALICE = 'cli-token-alice-0123456789';
const BOB = 'cli-token-bob-0123456789abc';
let cli: string;
let service: Service;
beforeAll(async () => {
  [cli, service] = await Promise.all([buildCli(), startService({ mlBehaviour: 'step=1000', env: { API_TOKENS: `${ALICE},${BOB}` } })]);
}, 180_000);
afterAll(async () => service?.stop(), 60_000);

const as = (token: string, ...args: string[]) => runCli(cli, args, { ECG_BASE_URL: service.url, ECG_TOKEN: token });

async function finished(id: string, token: string): Promise<void> {
  for (let i = 0; i < 300; i += 1) {
    if (['completed', 'failed', 'cancelled'].includes((await jobStatus(service.url, id, token)).status)) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`job ${id} did not finish`);
}

describe('ecg jobs', () => {
  it('lists the caller\'s own jobs newest first, filters them, pages with --all, and prints JSON', async () => {
    const mine = [await createJob(service.url, ALICE), await createJob(service.url, ALICE)];
    const theirs = await createJob(service.url, BOB);
    const r = await as(ALICE, 'jobs');
    expect(r.code).toBe(0);
    const ids = r.stdout.trim().split('\n').map((l) => l.split(/\s+/)[0]);
    expect(ids).toEqual([mine[1], mine[0]]);
    expect(r.stdout).not.toContain(theirs);
    expect(r.stdout).toMatch(/^[0-9a-f-]{36} {2}(pending|processing) +\d+% {2}\d{4}-\d\d-\d\dT[\d:.]+Z {2}direct\.mp4$/m);

    const paged = await as(ALICE, 'jobs', '--limit', '1', '--all', '--json');
    expect(paged.code).toBe(0);
    expect((JSON.parse(paged.stdout) as Array<{ job_id: string }>).map((j) => j.job_id)).toEqual([mine[1], mine[0]]);
    const one = await as(ALICE, 'jobs', '--limit', '1');
    expect(one.stdout.trim().split('\n')).toHaveLength(1);

    const none = await as(ALICE, 'jobs', '--status', 'failed');
    expect(none.stdout).toBe('No jobs.\n');
    const future = await as(ALICE, 'jobs', '--since', '2999-01-01');
    expect(future.stdout).toBe('No jobs.\n');
  }, 60_000);

  it('refuses a bad option with exit 2 and a missing token with exit 1 and UNAUTHORIZED', async () => {
    const bad = await as(ALICE, 'jobs', '--since', 'last tuesday-ish');
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain('--since');
    const anonymous = await runCli(cli, ['jobs'], { ECG_BASE_URL: service.url });
    expect(anonymous.code).toBe(1);
    expect(anonymous.stderr).toMatch(/^ecg: UNAUTHORIZED: /m);
  }, 30_000);

  it.skipIf(!haveTmux())('prints one line per job on a terminal', async () => {
    const id = await createJob(service.url, BOB);
    const dir = await mkdtemp(join(tmpdir(), 'ecg-jobs-tty-'));
    const term = runInTerminal(dir, [process.execPath, cli, 'jobs'], { ECG_BASE_URL: service.url, ECG_TOKEN: BOB });
    try {
      expect(await term.exitCode()).toBe(0);
      expect(term.screen()).toMatch(new RegExp(`^${id} {2}\\w+ +\\d+% {2}\\S+ {2}direct\\.mp4$`, 'm'));
    } finally {
      term.close();
      await rm(dir, { recursive: true, force: true });
    }
  }, 30_000);
});

describe('ecg delete', () => {
  it('refuses a running job with exit 1 and CONFLICT, deletes it with --cancel, and deleting again still exits 0', async () => {
    const id = await createJob(service.url, ALICE);
    for (let i = 0; i < 100 && (await jobStatus(service.url, id, ALICE)).status !== 'processing'; i += 1) await new Promise((r) => setTimeout(r, 100));
    const refused = await as(ALICE, 'delete', id);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toMatch(/^ecg: CONFLICT: /m);

    const done = await as(ALICE, 'delete', id, '--cancel');
    expect(done.code).toBe(0);
    expect(done.stdout).toBe(`Deleted job ${id}.\n`);
    const gone = await as(ALICE, 'status', id);
    expect(gone.code).toBe(1);
    expect(gone.stderr).toMatch(/^ecg: JOB_NOT_FOUND: /m);
    expect((await as(ALICE, 'delete', id)).code).toBe(0);
  }, 60_000);

  it('leaves another user\'s job alone, deletes a finished job of one\'s own, and refuses a malformed id with exit 2', async () => {
    const id = await createJob(service.url, BOB);
    await finished(id, BOB);
    expect((await as(ALICE, 'delete', id)).code).toBe(0);
    expect((await jobStatus(service.url, id, BOB)).job_id).toBe(id);
    expect((await as(BOB, 'delete', id)).code).toBe(0);
    expect((await as(BOB, 'jobs', '--all', '--json')).stdout).not.toContain(id);
    expect((await as(BOB, 'delete', 'not-a-job')).code).toBe(2);
  }, 60_000);
});
