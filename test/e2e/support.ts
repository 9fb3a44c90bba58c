/** What the operations end-to-end tests share: a fresh database, the reference ML server as a process, the upload flow. */
import { type ChildProcess,spawn } from 'node:child_process';
import { join } from 'node:path';
import { expect } from 'vitest';
import { freePort, type Proc } from '../support/process.js';

const root = join(import.meta.dirname, '..', '..');

/** Spawns `node --import tsx script` and resolves once its output matches `ready`. */
export function spawnReady(script: string, env: Record<string, string>, ready: RegExp, port: number): Promise<Proc> {
  return new Promise((resolve, reject) => {
    const child: ChildProcess = spawn(process.execPath, ['--import', 'tsx', script], { cwd: root, env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    const exited = new Promise<number | null>((r) => child.once('exit', (code) => r(code)));
    const timer = setTimeout(() => reject(new Error(`${script} did not start:\n${out}`)), 60_000);
    const onData = (d: Buffer) => {
      out += d.toString();
      if (!ready.test(out)) return;
      clearTimeout(timer);
      resolve({
        url: `http://127.0.0.1:${port}`,
        port,
        child,
        output: () => out,
        async kill(signal = 'SIGTERM') {
          if (child.exitCode === null && child.signalCode === null) child.kill(signal);
          return exited;
        },
      });
    };
    child.stdout!.on('data', onData);
    child.stderr!.on('data', onData);
    child.once('exit', (code) => {
      clearTimeout(timer);
      if (!ready.test(out)) reject(new Error(`${script} exited with ${code}:\n${out}`));
    });
  });
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

export function requestProcess(backend: string, fileKey: string): Promise<Response> {
  return fetch(`${backend}/api/upload-video/request-process`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ fileKey, language: 'en' }) });
}

export type Status = { status: string; progress: number; error_code?: string | null; error_message?: string | null; result?: { text: string; metadata?: { model_version?: string | null } } };
export const jobStatus = (backend: string, id: string) => json<Status>(fetch(`${backend}/api/upload-video/status/${id}`));
