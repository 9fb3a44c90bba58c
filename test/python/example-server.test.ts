/**
 * The Python example ML server (examples/ml-server-python, FastAPI on /usr/bin/python3) in place of
 * the TypeScript reference: the backend as a process with MODEL_SERVER_URL pointing at it, a whole
 * job from upload to the normalised result, on both contract versions.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { buildResultV10, buildResultV11 } from '../../examples/ml-server/src/transcript.js';
import { runMigrations } from '../../server/db/migrate.js';
import { type ScratchDatabase,scratchDatabase } from '../support/db.js';
import { freePort, type Proc, startBackend } from '../support/process.js';
import { havePython, PYTHON, pythonEnv, root, runDriver } from './python.js';

const ready = havePython(['fastapi', 'uvicorn']);
const SECRET = `whsec_${Buffer.from('python-example-server-secret-32b').toString('base64')}`;
const VIDEO = new Uint8Array(600_000).map((_, i) => (i * 31) % 251);
const DIGEST = { size: VIDEO.byteLength, sha256: createHash('sha256').update(VIDEO).digest('hex') };

let db: ScratchDatabase;
let dataDir: string;
const stops: Array<() => Promise<unknown>> = [];

beforeEach(async () => {
  if (!ready) return;
  db = await scratchDatabase('ecg_python');
  await runMigrations(db.url);
  dataDir = await mkdtemp(join(tmpdir(), 'ecg-python-'));
}, 120_000);

afterEach(async () => {
  await Promise.all(stops.splice(0).map((stop) => stop()));
  await db?.drop();
  if (dataDir) await rm(dataDir, { recursive: true, force: true });
}, 60_000);

/** Starts examples/ml-server-python/server.py and waits until its /health answers. */
async function startPythonMl(env: Record<string, string>): Promise<{ url: string; output: () => string }> {
  const port = await freePort();
  const child: ChildProcess = spawn(PYTHON, [join(root, 'examples', 'ml-server-python', 'server.py')], {
    env: pythonEnv({ PORT: String(port), HOST: '127.0.0.1', ML_STEP_DELAY_MS: '20', ...env }),
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  child.stdout!.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr!.on('data', (d: Buffer) => (out += d.toString()));
  const exited = new Promise((r) => child.once('exit', r));
  stops.push(async () => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
    await exited;
  });
  const url = `http://127.0.0.1:${port}`;
  await vi.waitFor(
    async () => {
      if (child.exitCode !== null) throw new Error(`server.py exited with ${child.exitCode}:\n${out}`);
      expect((await fetch(`${url}/health`)).status).toBe(200);
    },
    { timeout: 30_000, interval: 200 },
  );
  return { url, output: () => out };
}

async function backend(env: Record<string, string>, port?: number): Promise<Proc> {
  const proc = await startBackend({ DATABASE_URL: db.url, DATA_DIR: dataDir, RATE_LIMIT_PER_MINUTE: '0', ML_DISPATCH_BACKOFF_MS: '300', ...env }, port);
  stops.push(() => proc.kill('SIGTERM'));
  return proc;
}

async function post<T>(url: string, body: unknown): Promise<T> {
  const res = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
  expect(res.status).toBe(200);
  return (await res.json()) as T;
}

async function uploadAndProcess(base: string): Promise<string> {
  const up = await post<{ upload_url: string; file_key: string; headers: Record<string, string> }>(`${base}/api/upload-video/generate-url`, { filename: 'talk.mp4', content_type: 'video/mp4' });
  expect((await fetch(up.upload_url, { method: 'PUT', headers: up.headers, body: VIDEO })).status).toBe(200);
  return (await post<{ job_id: string }>(`${base}/api/upload-video/request-process`, { fileKey: up.file_key, language: 'ko' })).job_id;
}

type Segment = { start: number; end: number; text: string; speaker: { speaker_id: string | null } };
type Status = { status: string; progress: number; error_code?: string | null; result?: { text: string; segments: Segment[] } };

async function finished(base: string, id: string): Promise<Status> {
  return vi.waitFor(
    async () => {
      const s = (await (await fetch(`${base}/api/upload-video/status/${id}`)).json()) as Status;
      expect(['completed', 'failed']).toContain(s.status);
      return s;
    },
    { timeout: 30_000, interval: 200 },
  );
}

describe.skipIf(!ready)('the Python example ML server behind the backend', () => {
  it('computes, number for number, the transcript the TypeScript reference computes for the same bytes', async () => {
    const python = await runDriver<unknown>({ transcript: { size: DIGEST.size, sha256: DIGEST.sha256, filename: 'talk.mp4', language: 'ko' } });
    const ts = buildResultV11(DIGEST, { filename: 'talk.mp4', language: 'ko', processingTime: 0 });
    expect(python).toEqual({ ...ts, metadata: { ...ts.metadata, model_version: 'reference-python-1.0' } });
  });

  it('runs a v1.1 job to completed: process-video, progress and the result through the per-job callback URL', async () => {
    const ml = await startPythonMl({});
    const api = await backend({ MODEL_SERVER_URL: ml.url });
    const health = (await (await fetch(`${api.url}/api/upload-video/ml-server/health`)).json()) as Record<string, unknown>;
    expect(health).toMatchObject({ status: 'healthy', http_status: 200 });
    const id = await uploadAndProcess(api.url);
    const done = await finished(api.url, id);
    expect(done, ml.output()).toMatchObject({ status: 'completed', progress: 100 });
    const expected = buildResultV11(DIGEST, { filename: 'talk.mp4', language: 'ko', processingTime: 0 });
    expect(done.result!.text).toBe(expected.text);
    expect(done.result!.segments.map((s) => [s.start, s.end, s.speaker.speaker_id])).toEqual((expected.segments ?? []).map((s) => [s.start, s.end, s.speaker]));
    const mlStatus = (await (await fetch(`${ml.url}/api/upload-video/status/${id}`)).json()) as Record<string, unknown>;
    expect(mlStatus).toMatchObject({ job_id: id, status: 'completed', progress: 100 });
  }, 90_000);

  it('runs a v1.0 job to completed: signed callbacks to the legacy path at the backend it is configured with', async () => {
    const port = await freePort();
    const ml = await startPythonMl({ WEBHOOK_SECRET: SECRET, BACKEND_URL: `http://127.0.0.1:${port}` });
    const api = await backend({ MODEL_SERVER_URL: ml.url, ML_API_VERSION: 'v1.0', WEBHOOK_SECRET: SECRET }, port);
    const id = await uploadAndProcess(api.url);
    const done = await finished(api.url, id);
    expect(done, ml.output()).toMatchObject({ status: 'completed', progress: 100 });
    const expected = buildResultV10(DIGEST, { filename: 'talk.mp4', processingTime: 0 });
    expect(done.result!.segments.map((s) => [s.start, s.end, s.speaker.speaker_id])).toEqual(
      expected.segments!.map((s) => [s.start_time, s.end_time, s.speaker && typeof s.speaker === 'object' ? s.speaker.speaker_id : s.speaker]),
    );
  }, 90_000);
});
