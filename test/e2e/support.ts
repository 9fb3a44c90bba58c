/** What the operations end-to-end tests share: a fresh database, the reference ML server as a process, the upload flow. */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, beforeEach, expect } from 'vitest';
import { runMigrations } from '../../server/db/migrate.js';
import { type ScratchDatabase, scratchDatabase } from '../support/db.js';
import { freePort, type Proc, spawnReady } from '../support/process.js';

export interface ScratchServices {
  /** The migrated database of the test (or file). */
  readonly db: ScratchDatabase;
  /** A directory of its own for DATA_DIR. */
  readonly dataDir: string;
  /** Registers a process to be SIGKILLed after the test (or file); returns it. */
  readonly track: (p: Proc) => Proc;
}

/**
 * Gives each test (`scope: 'test'`) or the whole file (`'file'`) a migrated database `ecg_<name>` and a
 * data directory `ecg-<name>-*` of its own, and afterwards SIGKILLs every tracked process and removes both.
 * Per test, a backend left from another test cannot claim this test's jobs and send them to its own ML server.
 */
export function scratchServices(name: string, scope: 'test' | 'file' = 'test'): ScratchServices {
  let db: ScratchDatabase | undefined;
  let dataDir: string | undefined;
  let procs: Proc[] = [];
  const [before, after] = scope === 'test' ? [beforeEach, afterEach] : [beforeAll, afterAll];
  before(async () => {
    db = await scratchDatabase(`ecg_${name}`);
    await runMigrations(db.url);
    dataDir = await mkdtemp(join(tmpdir(), `ecg-${name}-`));
  }, 120_000);
  after(async () => {
    await Promise.all(procs.map((p) => p.kill('SIGKILL')));
    procs = [];
    await db?.drop();
    if (dataDir) await rm(dataDir, { recursive: true, force: true });
  }, 60_000);
  return {
    get db() {
      if (!db) throw new Error('no scratch database outside a test');
      return db;
    },
    get dataDir() {
      if (!dataDir) throw new Error('no data directory outside a test');
      return dataDir;
    },
    track: (p) => (procs.push(p), p),
  };
}

/** The reference ML server (examples/ml-server) as a process; `behaviour` is its ML_BEHAVIOUR. */
export async function startReferenceMl(behaviour = '', port?: number): Promise<Proc> {
  const p = port ?? (await freePort());
  return spawnReady('examples/ml-server/src/cli.ts', { PORT: String(p), HOST: '127.0.0.1', ML_BEHAVIOUR: behaviour }, /"msg":"ready"/, p);
}

export async function json<T>(res: Promise<Response> | Response): Promise<T> {
  return (await (await res).json()) as T;
}

/** Uploads a small file through generate-url and the presigned PUT; returns its key. */
export async function upload(backend: string, bytes = 4096): Promise<string> {
  const up = await json<{ upload_url: string; file_key: string; headers: Record<string, string> }>(
    fetch(`${backend}/api/upload-video/generate-url`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ filename: 'talk.mp4', content_type: 'video/mp4' }) }),
  );
  const put = await fetch(up.upload_url, { method: 'PUT', headers: up.headers, body: new Uint8Array(bytes).fill(1) });
  expect(put.status).toBe(200);
  return up.file_key;
}

export function requestProcess(backend: string, fileKey: string, language = 'en'): Promise<Response> {
  return fetch(`${backend}/api/upload-video/request-process`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ fileKey, language }) });
}

/** Uploads a small file and asks for its processing; returns the job's id. */
export async function uploadAndProcess(backend: string, language = 'en'): Promise<string> {
  const job = await json<{ job_id: string }>(requestProcess(backend, await upload(backend), language));
  return job.job_id;
}

export type Status = {
  status: string;
  progress: number;
  error_code?: string | null;
  error_message?: string | null;
  result?: { text: string; speakers?: unknown; segments: Array<Record<string, unknown>>; metadata?: { model_version?: string | null } };
};
export const jobStatus = (backend: string, id: string) => json<Status>(fetch(`${backend}/api/upload-video/status/${id}`));
