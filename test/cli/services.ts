/**
 * The backend the CLI talks to, as a process (`server/main.ts`) on a fresh database of its own:
 * either with the reference ML server beside it (no MODEL_SERVER_URL, as `npm start` runs), or
 * pointed at the reference ML server run as its own process with a slower pace, so that a job
 * lasts long enough to watch its bar and to press Ctrl-C in the middle of it.
 */
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { JobStatusResponse } from '@ecg/sdk';
import { type ScratchDatabase,scratchDatabase } from '../support/db.js';
import { freePort, type Proc,startBackend } from '../support/process.js';
import { root } from './build.js';

/** The reference ML server's own command (`examples/ml-server/src/cli.ts`), behaving as `ML_BEHAVIOUR` says. */
async function startReferenceMl(behaviour: string): Promise<Proc> {
  const port = await freePort();
  const child = spawn(process.execPath, ['--import', 'tsx', 'examples/ml-server/src/cli.ts'], {
    cwd: root,
    env: { ...process.env, PORT: String(port), HOST: '127.0.0.1', ML_BEHAVIOUR: behaviour },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`the reference ML server did not start:\n${out}`)), 60_000);
    const onData = (d: Buffer) => {
      out += d.toString();
      if (/"msg":"ready"/.test(out)) {
        clearTimeout(timer);
        resolve();
      }
    };
    child.stdout.on('data', onData);
    child.stderr.on('data', onData);
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`the reference ML server exited with ${code}:\n${out}`));
    });
  });
  return {
    url: `http://127.0.0.1:${port}`,
    port,
    child,
    output: () => out,
    async kill(signal = 'SIGTERM') {
      if (child.exitCode === null && child.signalCode === null) child.kill(signal);
      return exited;
    },
  };
}

export interface Service {
  /** The backend's base URL. */
  url: string;
  /** A scratch directory for files of the test (removed by `stop`). */
  dir: string;
  stop(): Promise<void>;
}

/**
 * Starts the backend on a new database. `mlBehaviour` set (`ML_BEHAVIOUR` flags of the reference ML
 * server, e.g. `step=700` for 700 ms a stage): the reference ML server runs as its own process and
 * the backend's MODEL_SERVER_URL points to it; unset: no MODEL_SERVER_URL, so the backend runs the
 * reference ML server beside it, as `npm start` does.
 */
export async function startService(opts: { mlBehaviour?: string; env?: Record<string, string> } = {}): Promise<Service> {
  const db: ScratchDatabase = await scratchDatabase('ecg_cli');
  const dir = await mkdtemp(join(tmpdir(), 'ecg-cli-'));
  const procs: Proc[] = [];
  try {
    const env: Record<string, string> = { DATABASE_URL: db.url, DATA_DIR: join(dir, 'data'), RATE_LIMIT_PER_MINUTE: '0', ...opts.env };
    if (opts.mlBehaviour !== undefined) {
      const ml = await startReferenceMl(opts.mlBehaviour);
      procs.push(ml);
      env.MODEL_SERVER_URL = ml.url;
    } else if (process.env.MODEL_SERVER_URL || process.env.ml_api_server_url) {
      throw new Error('MODEL_SERVER_URL is set in the test environment: the backend would not run the reference ML server beside it');
    }
    const backend = await startBackend(env);
    procs.push(backend);
    return {
      url: backend.url,
      dir,
      async stop() {
        await Promise.all(procs.map((p) => p.kill('SIGKILL')));
        await db.drop();
        await rm(dir, { recursive: true, force: true });
      },
    };
  } catch (err) {
    await Promise.all(procs.map((p) => p.kill('SIGKILL')));
    await db.drop();
    await rm(dir, { recursive: true, force: true });
    throw err;
  }
}

/** A file of `bytes` pseudo-random bytes (the reference ML server derives the transcript from them). */
export async function videoFile(dir: string, name: string, bytes: number): Promise<string> {
  const path = join(dir, name);
  await writeFile(path, randomBytes(bytes));
  return path;
}

/** The job as the backend's status endpoint reports it. */
export async function jobStatus(baseUrl: string, jobId: string, token?: string): Promise<JobStatusResponse> {
  const res = await fetch(`${baseUrl}/api/upload-video/status/${jobId}`, token ? { headers: { Authorization: `Bearer ${token}` } } : {});
  if (!res.ok) throw new Error(`status of ${jobId}: HTTP ${res.status}`);
  return (await res.json()) as JobStatusResponse;
}

/** A job made through the API directly (upload URL, PUT, request-process), for the commands that act on one; as `token`'s owner when given. */
export async function createJob(baseUrl: string, token?: string): Promise<string> {
  const auth: Record<string, string> = token ? { Authorization: `Bearer ${token}` } : {};
  const post = async <T>(path: string, body: unknown): Promise<T> => {
    const res = await fetch(`${baseUrl}${path}`, { method: 'POST', headers: { 'Content-Type': 'application/json', ...auth }, body: JSON.stringify(body) });
    if (!res.ok) throw new Error(`${path}: HTTP ${res.status} ${await res.text()}`);
    return (await res.json()) as T;
  };
  const target = await post<{ upload_url: string; file_key: string; headers: Record<string, string> }>('/api/upload-video/generate-url', { filename: 'direct.mp4', content_type: 'video/mp4' });
  const put = await fetch(target.upload_url, { method: 'PUT', headers: target.headers, body: randomBytes(64 * 1024) });
  if (put.status !== 200) throw new Error(`upload: HTTP ${put.status}`);
  const { job_id } = await post<{ job_id: string }>('/api/upload-video/request-process', { fileKey: target.file_key, language: 'en' });
  return job_id;
}
