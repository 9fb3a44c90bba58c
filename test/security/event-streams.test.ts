/**
 * Event streams against the backend as a process (docs/limits.md): a client may hold a few, the
 * process a bounded number, each for a bounded time. Over a cap the answer is 429 with Retry-After;
 * at the end of its lifetime the server closes the stream and a reconnect with Last-Event-ID
 * skips the status already seen.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import postgres from 'postgres';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createBackendClient } from '../../sdk/src/index.js';
import { runMigrations } from '../../server/db/migrate.js';
import { type ScratchDatabase, scratchDatabase } from '../support/db.js';
import { type Proc, startBackend } from '../support/process.js';

let db: ScratchDatabase;
let dataDir: string;
let backend: Proc;
const opened: AbortController[] = [];

beforeAll(async () => {
  db = await scratchDatabase('ecg_security_streams');
  await runMigrations(db.url);
  dataDir = await mkdtemp(join(tmpdir(), 'ecg-security-streams-'));
  backend = await startBackend({
    DATABASE_URL: db.url,
    DATA_DIR: dataDir,
    MODEL_SERVER_URL: 'http://127.0.0.1:9',
    RATE_LIMIT_PER_MINUTE: '0',
    SSE_MAX_STREAMS_PER_CLIENT: '3',
    SSE_MAX_LIFETIME: '2',
  });
}, 120_000);
afterAll(async () => {
  for (const c of opened) c.abort();
  await backend?.kill('SIGKILL');
  await db?.drop();
  await rm(dataDir, { recursive: true, force: true });
}, 60_000);

async function newJob(): Promise<string> {
  const gen = await fetch(`${backend.url}/api/upload-video/generate-url`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ filename: 'a.mp4', content_type: 'video/mp4' }) });
  const { upload_url, headers, file_key } = (await gen.json()) as { upload_url: string; headers: Record<string, string>; file_key: string };
  expect((await fetch(upload_url, { method: 'PUT', headers, body: new Uint8Array(64) })).status).toBe(200);
  const res = await fetch(`${backend.url}/api/upload-video/request-process`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ fileKey: file_key }) });
  return ((await res.json()) as { job_id: string }).job_id;
}

function open(jobId: string, headers: Record<string, string> = {}): Promise<Response> {
  const controller = new AbortController();
  opened.push(controller);
  return fetch(`${backend.url}/api/upload-video/status/${jobId}/events`, { headers, signal: controller.signal });
}

describe('event streams are bounded', () => {
  it('answers the fourth stream of one client with 429 and Retry-After while three are open', async () => {
    const id = await newJob();
    const held = await Promise.all([open(id), open(id), open(id)]);
    for (const r of held) expect(r.status).toBe(200);
    const fourth = await open(id);
    expect(fourth.status).toBe(429);
    expect(Number(fourth.headers.get('retry-after'))).toBeGreaterThan(0);
    expect(await fourth.json()).toMatchObject({ error: 'RATE_LIMITED' });
    for (const r of held) await r.body?.cancel();
  });

  it('closes a stream after its maximum lifetime, and a reconnect with Last-Event-ID skips the status already seen', async () => {
    const id = await newJob();
    const started = Date.now();
    const first = await open(id);
    const text = await first.text(); // ends when the server closes the stream
    expect(Date.now() - started).toBeGreaterThanOrEqual(1500);
    expect(Date.now() - started).toBeLessThan(10_000);
    const lastId = [...text.matchAll(/^id: (\d+)$/gm)].at(-1)?.[1];
    expect(lastId).toBeDefined();

    const again = await open(id, { 'Last-Event-ID': lastId! });
    const second = await again.text();
    // Nothing changed in between: no status event, only the stream's end.
    expect(second).not.toMatch(/^event: status$/m);
  });

  it('frees a client\'s slots when its streams end, so it can follow again', async () => {
    const id = await newJob();
    const streams = await Promise.all([open(id), open(id), open(id)]);
    for (const r of streams) await r.body?.cancel();
    // The server notices the disconnects within moments.
    let status = 0;
    for (let i = 0; i < 20 && status !== 200; i += 1) {
      await new Promise((r) => setTimeout(r, 100));
      const r = await open(id);
      status = r.status;
      await r.body?.cancel();
    }
    expect(status).toBe(200);
  });
});

describe('the SDK and streams the server ends', () => {
  it('keeps following through streams the server closes at their lifetime, to the terminal status', async () => {
    const id = await newJob();
    const streamsOpened: string[] = [];
    const ecg = createBackendClient({
      baseUrl: backend.url,
      fetch: (req) => {
        if (req.url.endsWith('/events')) streamsOpened.push(req.url);
        return fetch(req);
      },
    });
    const sql = postgres(db.url, { max: 1, onnotice: () => {} });
    try {
      const [row] = await sql<{ callback_token: string }[]>`select callback_token from jobs where id = ${id}`;
      const finished = ecg.waitForJob(id, { intervalMs: 200 });
      // Two stream lifetimes (2 s each) pass before the result arrives.
      await new Promise((r) => setTimeout(r, 4500));
      const done = await fetch(`${backend.url}/api/ml-callback/${row!.callback_token}/api/upload-video/result`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ job_id: id, status: 'completed', progress: 100, result: { segments: [] } }),
      });
      expect(done.status).toBe(200);
      await expect(finished).resolves.toMatchObject({ job_id: id, status: 'completed' });
      expect(streamsOpened.length).toBeGreaterThanOrEqual(2);
    } finally {
      await sql.end({ timeout: 5 });
    }
  }, 30_000);
});

describe('the per-process stream cap', () => {
  it('refuses a stream once the process holds its maximum, whoever asks, and takes one again after a release', async () => {
    const { createStreamLimits } = await import('../../server/http/stream-limits.js');
    const limits = createStreamLimits({ perClient: 20, perProcess: 2, maxLifetimeMs: 1000 });
    const release = limits.acquire('ip:a');
    limits.acquire('ip:b');
    expect(() => limits.acquire('ip:c')).toThrow(expect.objectContaining({ code: 'RATE_LIMITED', headers: { 'Retry-After': '5' } }));
    release();
    release(); // a second release of the same stream changes nothing
    expect(limits.open).toBe(1);
    expect(() => limits.acquire('ip:c')).not.toThrow();
  });
});
