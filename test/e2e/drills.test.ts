/**
 * Failure drills with real processes and a real PostgreSQL: the database restarted while jobs are in
 * flight and clients poll; the ML server away for longer than the whole retry schedule; the embedded
 * storage's disk full during an upload (docs/limits.md, "Failure drills").
 */
import { execFileSync } from 'node:child_process';
import { chmod, mkdir, mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { runMigrations } from '../../server/db/migrate.js';
import { startEmbeddedPostgres } from '../../server/embedded/postgres.js';
import { type ScratchDatabase,scratchDatabase } from '../support/db.js';
import { freePort, type Proc,startBackend } from '../support/process.js';
import { jobStatus, json, requestProcess, startReferenceMl, upload } from './support.js';

let dataDir: string;
let procs: Proc[] = [];
let cleanups: Array<() => Promise<unknown>> = [];
const track = (p: Proc) => (procs.push(p), p);

beforeEach(async () => {
  dataDir = await mkdtemp(join(tmpdir(), 'ecg-drill-'));
});
afterEach(async () => {
  await Promise.all(procs.map((p) => p.kill('SIGKILL')));
  procs = [];
  for (const clean of cleanups.reverse()) await clean().catch(() => {});
  cleanups = [];
  await rm(dataDir, { recursive: true, force: true });
}, 60_000);

async function scratch(): Promise<ScratchDatabase> {
  const db = await scratchDatabase('ecg_drill');
  cleanups.push(() => db.drop());
  await runMigrations(db.url);
  return db;
}

describe('failure drills', () => {
  it('survives a PostgreSQL restart while jobs are in flight and clients poll: only 503s with Retry-After meanwhile, and every job completes', async () => {
    const pgDir = join(dataDir, 'pg');
    await mkdir(pgDir);
    // As root, the embedded PostgreSQL runs as "postgres", which must be able to enter the directory.
    await chmod(dataDir, 0o711);
    const port = await freePort();
    let pg = await startEmbeddedPostgres({ dataDir: pgDir, port, unsafeNoFsync: true });
    cleanups.push(() => pg.stop());
    await runMigrations(pg.url);

    const ml = track(await startReferenceMl('step=400'));
    const backend = track(
      await startBackend({
        DATABASE_URL: pg.url,
        DATA_DIR: join(dataDir, 'data'),
        MODEL_SERVER_URL: ml.url,
        RATE_LIMIT_PER_MINUTE: '0',
        ML_DISPATCH_BACKOFF_MS: '500',
        ML_DISPATCH_MAX_ATTEMPTS: '50',
        // A completion that lands while the database is away is answered 503 and lost: asked for again.
        ML_RECONCILE_AFTER: '2',
      }),
    );
    const ids: string[] = [];
    for (let i = 0; i < 4; i++) ids.push((await json<{ job_id: string }>(requestProcess(backend.url, await upload(backend.url)))).job_id);

    // Clients poll every job throughout.
    const answers: Array<{ at: number; status: number; body: string; retryAfter: string | null }> = [];
    // `at` is when a poll began; it is abandoned after 15 s: one begun while the database was away may wait on a connection.
    let polling = true;
    const pollers = ids.map(async (id) => {
      while (polling) {
        const began = Date.now();
        try {
          const res = await fetch(`${backend.url}/api/upload-video/status/${id}`, { signal: AbortSignal.timeout(15_000) });
          answers.push({ at: began, status: res.status, body: await res.text(), retryAfter: res.headers.get('retry-after') });
        } catch (err) {
          answers.push({ at: began, status: 0, body: String(err), retryAfter: null });
        }
        await new Promise((r) => setTimeout(r, 100));
      }
    });

    await new Promise((r) => setTimeout(r, 800));
    const down = Date.now();
    await pg.stop();
    await new Promise((r) => setTimeout(r, 3000));
    pg = await startEmbeddedPostgres({ dataDir: pgDir, port, unsafeNoFsync: true });
    const up = Date.now();

    try {
      await vi.waitFor(
        async () => {
          const all = await Promise.all(ids.map((id) => jobStatus(backend.url, id)));
          expect(all.map((s) => s.status)).toEqual(ids.map(() => 'completed'));
        },
        { timeout: 60_000, interval: 500 },
      );
    } catch (err) {
      throw new Error(`${String(err)}\nbackend output:\n${backend.output().slice(-4000)}`);
    } finally {
      polling = false;
      await Promise.all(pollers);
    }

    const failures = answers.filter((a) => a.status !== 200 && a.status !== 304);
    // The database was away: some polls were answered 503, none with another failure.
    expect(failures.length).toBeGreaterThan(0);
    for (const f of failures) {
      if (f.status === 0) {
        expect(f.body, JSON.stringify(f)).toMatch(/TimeoutError/);
      } else {
        expect(f, JSON.stringify(f)).toMatchObject({ status: 503, retryAfter: '5' });
        expect(JSON.parse(f.body)).toMatchObject({ error: 'SERVICE_UNAVAILABLE', retry_after: 5 });
      }
      // ... and only for requests begun while it was away, or in the 10 s the pool takes to reconnect (docs/limits.md).
      expect(f.at).toBeGreaterThanOrEqual(down - 1000);
      expect(f.at, JSON.stringify(f)).toBeLessThanOrEqual(up + 10_000);
    }
  }, 180_000);

  it('fails jobs with ML_SERVER_UNAVAILABLE and a clear message when the ML server stays away longer than the whole retry schedule', async () => {
    const db = await scratch();
    const mlPort = await freePort(); // nothing listens there
    const backend = track(
      await startBackend({ DATABASE_URL: db.url, DATA_DIR: dataDir, MODEL_SERVER_URL: `http://127.0.0.1:${mlPort}`, RATE_LIMIT_PER_MINUTE: '0', ML_DISPATCH_MAX_ATTEMPTS: '3', ML_DISPATCH_BACKOFF_MS: '200' }),
    );
    const { job_id: id } = await json<{ job_id: string }>(requestProcess(backend.url, await upload(backend.url)));
    await vi.waitFor(async () => expect((await jobStatus(backend.url, id)).status).toBe('failed'), { timeout: 30_000, interval: 200 });
    const failed = await jobStatus(backend.url, id);
    expect(failed.error_code).toBe('ML_SERVER_UNAVAILABLE');
    expect(failed.error_message).toBe('The ML server could not be reached after 3 attempts (CONNECTION_ERROR).');
    // The operator's log says which ML server was tried.
    expect(backend.output()).toContain(`"msg":"dispatch failed"`);
    expect(backend.output()).toContain(`"ml_server":"http://127.0.0.1:${mlPort}"`);
  }, 60_000);

  it('answers 507 with the error envelope when the storage disk fills during an upload, and leaves no partial object', async (ctx) => {
    const storage = join(dataDir, 'storage');
    await mkdir(storage, { recursive: true });
    try {
      execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=2m,mode=0700', 'tmpfs', storage], { stdio: 'ignore' });
    } catch {
      ctx.skip('mounting a 2 MB tmpfs needs privileges this sandbox does not have');
    }
    cleanups.push(() => Promise.resolve(void execFileSync('umount', ['-l', storage], { stdio: 'ignore' })));
    const db = await scratch();
    const backend = track(await startBackend({ DATABASE_URL: db.url, DATA_DIR: dataDir, MODEL_SERVER_URL: 'http://127.0.0.1:9', RATE_LIMIT_PER_MINUTE: '0' }));
    // Leave about 300 kB free.
    await writeFile(join(storage, 'filler'), new Uint8Array(2 * 1024 * 1024 - 300 * 1024));

    const up = await json<{ upload_url: string; file_key: string; headers: Record<string, string> }>(
      fetch(`${backend.url}/api/upload-video/generate-url`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ filename: 'big.mp4', content_type: 'video/mp4' }) }),
    );
    const put = await fetch(up.upload_url, { method: 'PUT', headers: up.headers, body: new Uint8Array(1024 * 1024).fill(3) });
    expect(put.status).toBe(507);
    expect(await put.json()).toEqual({ error: 'INSUFFICIENT_STORAGE', message: expect.stringContaining('The storage is full') });
    // Nothing half-written is left, and the key is not visible: request-process does not find it.
    expect(await readdir(join(storage, 'tmp'))).toEqual([]);
    const refused = await requestProcess(backend.url, up.file_key);
    expect(refused.status).toBe(404);
    expect(await refused.json()).toMatchObject({ error: 'FILE_NOT_FOUND' });
    // Room again: the same upload goes through.
    await rm(join(storage, 'filler'));
    expect((await fetch(up.upload_url, { method: 'PUT', headers: up.headers, body: new Uint8Array(1024 * 1024).fill(3) })).status).toBe(200);
  }, 60_000);
});
