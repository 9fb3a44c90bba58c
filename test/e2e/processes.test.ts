/**
 * The service as separate processes over real HTTP: the backend (`server/main.ts`), a fake ML server
 * that behaves like the real one, a real Postgres. Restarts, SIGKILL, an ML outage, two backends.
 */
import postgres from 'postgres';
import { describe, expect, it, vi } from 'vitest';
import { freePort, startBackend, startFakeMl } from '../support/process.js';
import { jobStatus, json, scratchServices, type Status, uploadAndProcess } from './support.js';

// Each test has a database and processes of its own (see scratchServices).
const scratch = scratchServices('e2e');
const track = scratch.track;

const baseEnv = () => ({ DATABASE_URL: scratch.db.url, DATA_DIR: scratch.dataDir, ML_DISPATCH_BACKOFF_MS: '300', RATE_LIMIT_PER_MINUTE: '0' });

describe('backend and a real-like ML server, as processes', () => {
  it('runs the whole flow: unsigned callbacks through the per-job base, \\u-escaped text decoded, result normalised', async () => {
    const ml = track(await startFakeMl());
    const backend = track(await startBackend({ ...baseEnv(), MODEL_SERVER_URL: ml.url }));
    const id = await uploadAndProcess(backend.url, 'ko');
    await vi.waitFor(async () => expect((await jobStatus(backend.url, id)).status).toBe('completed'), { timeout: 20_000, interval: 200 });
    const done = await jobStatus(backend.url, id);
    expect(done.progress).toBe(100);
    expect(done.result!.text).toBe('안녕하세요 world');
    expect(done.result!.speakers).toEqual(['SPEAKER_00']);
    expect(done.result!.segments[0]).toMatchObject({ start: 0.5, end: 1.5, speaker: { speaker_id: 'SPEAKER_00' } });
    const { deliveries } = await json<{ deliveries: Array<{ job_id: string; http: number }> }>(fetch(`${ml.url}/calls`));
    expect(deliveries.filter((d) => d.job_id === id).every((d) => d.http === 200)).toBe(true);
    await backend.kill('SIGTERM');
    await ml.kill();
  }, 60_000);

  it('without MODEL_SERVER_URL runs the reference ML server beside itself and completes a job with it', async () => {
    const backend = track(await startBackend(baseEnv()));
    const id = await uploadAndProcess(backend.url, 'ko');
    await vi.waitFor(async () => expect((await jobStatus(backend.url, id)).status).toBe('completed'), { timeout: 20_000, interval: 200 });
    expect((await jobStatus(backend.url, id)).result!.segments.length).toBeGreaterThan(0);
    expect(await backend.kill('SIGTERM')).toBe(0);
  }, 60_000);

  it('loses no job and sends none twice at once when SIGKILLed repeatedly while the ML server is down, then delivers all when it is back', async () => {
    const mlPort = await freePort();
    const backendPort = await freePort();
    const env = { ...baseEnv(), MODEL_SERVER_URL: `http://127.0.0.1:${mlPort}`, ML_DISPATCH_MAX_ATTEMPTS: '30' };
    let backend = track(await startBackend(env, backendPort));
    const ids: string[] = [];
    for (let i = 0; i < 6; i++) ids.push(await uploadAndProcess(backend.url, 'ko'));
    for (let round = 0; round < 3; round++) {
      await new Promise((r) => setTimeout(r, 300 + round * 200));
      expect(await backend.kill('SIGKILL')).toBeNull();
      backend = track(await startBackend(env, backendPort));
    }
    const ml = track(await startFakeMl({}, mlPort));
    await vi.waitFor(
      async () => {
        const all = await Promise.all(ids.map((id) => jobStatus(backend.url, id)));
        expect(all.map((s) => s.status)).toEqual(ids.map(() => 'completed'));
      },
      { timeout: 45_000, interval: 500 },
    );
    const { calls } = await json<{ calls: Array<{ job_id: string; started: number; ended: number }> }>(fetch(`${ml.url}/calls`));
    for (const id of ids) {
      const mine = calls.filter((c) => c.job_id === id).sort((a, b) => a.started - b.started);
      expect(mine.length).toBeGreaterThanOrEqual(1);
      for (let i = 1; i < mine.length; i++) expect(mine[i]!.started).toBeGreaterThanOrEqual(mine[i - 1]!.ended);
    }
  }, 120_000);

  it('streams a job\'s changes over SSE from one backend while the callbacks land on another', async () => {
    const mlPort = await freePort();
    const env = { ...baseEnv(), MODEL_SERVER_URL: `http://127.0.0.1:${mlPort}` };
    const a = track(await startBackend(env));
    const b = track(await startBackend(env));
    const id = await uploadAndProcess(a.url, 'ko');
    const sql = postgres(scratch.db.url, { max: 1, onnotice: () => {} });
    const [tokenRow] = await sql<{ callback_token: string }[]>`select callback_token from jobs where id = ${id}`;
    const token = tokenRow!.callback_token;
    await sql.end();
    const stream = await fetch(`${a.url}/api/upload-video/status/${id}/events`);
    expect(stream.headers.get('content-type')).toMatch(/text\/event-stream/);
    const reader = stream.body!.pipeThrough(new TextDecoderStream()).getReader();
    const seen: Status[] = [];
    const reading = (async () => {
      let buf = '';
      for (;;) {
        const { value, done } = await reader.read();
        if (done) return;
        buf += value;
        let i;
        while ((i = buf.indexOf('\n\n')) !== -1) {
          const event = buf.slice(0, i);
          buf = buf.slice(i + 2);
          const data = event.split('\n').find((l) => l.startsWith('data:'));
          if (data) seen.push(JSON.parse(data.slice(5)) as Status);
        }
      }
    })();
    const send = (body: Record<string, unknown>) =>
      fetch(`${b.url}/api/ml-callback/${token}/api/upload-video/result`, {
        method: 'POST', headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ job_id: id, status: 'processing', progress: null, message: null, result: null, error_message: null, error_code: null, ...body }),
      });
    await vi.waitFor(() => expect(seen.length).toBeGreaterThanOrEqual(1), { timeout: 10_000 });
    expect((await send({ progress: 30 })).status).toBe(200);
    await vi.waitFor(() => expect(seen.at(-1)?.progress).toBe(30), { timeout: 10_000 });
    expect((await send({ status: 'completed', progress: 100, result: { segments: [] } })).status).toBe(200);
    await reading; // the stream ends by itself after the terminal event
    expect(seen.at(-1)).toMatchObject({ status: 'completed', progress: 100 });
    expect(seen.map((s) => s.progress)).toEqual([...seen.map((s) => s.progress)].sort((x, y) => x - y));
  }, 60_000);

  it('on SIGTERM stops taking requests, finishes an upload in flight, and exits 0', async () => {
    const backend = track(await startBackend({ ...baseEnv(), MODEL_SERVER_URL: 'http://127.0.0.1:9' }));
    const up = await json<{ upload_url: string; headers: Record<string, string> }>(
      fetch(`${backend.url}/api/upload-video/generate-url`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ filename: 'slow.mp4' }) }),
    );
    // An upload that trickles in over ~1.5 s; SIGTERM arrives in the middle of it.
    const chunks = 6;
    const body = new ReadableStream<Uint8Array>({
      async pull(controller) {
        await new Promise((r) => setTimeout(r, 250));
        controller.enqueue(new Uint8Array(1024).fill(9));
        if (--pulls === 0) controller.close();
      },
    });
    let pulls = chunks;
    const uploading = fetch(up.upload_url, { method: 'PUT', headers: { ...up.headers, 'content-length': String(chunks * 1024) }, body, duplex: 'half' } as RequestInit);
    // An open event stream must not hold the shutdown up: it ends.
    const jobId = await uploadAndProcess(backend.url, 'ko');
    const events = await fetch(`${backend.url}/api/upload-video/status/${jobId}/events`);
    const streamEnded = events.text();
    await new Promise((r) => setTimeout(r, 400));
    const started = Date.now();
    const exit = backend.kill('SIGTERM');
    const res = await uploading;
    expect(res.status).toBe(200);
    expect(await exit).toBe(0);
    expect(Date.now() - started).toBeLessThan(10_000);
    expect(await streamEnded).toContain('event: status');
    await expect(fetch(`${backend.url}/health`)).rejects.toThrow();
  }, 60_000);

  it('logs JSON lines with request ids and never a URL signature, callback token or secret', async () => {
    const secret = 'whsec_' + Buffer.from('log-test-secret-log-test-secret!').toString('base64');
    const ml = track(await startFakeMl());
    const backend = track(await startBackend({ ...baseEnv(), MODEL_SERVER_URL: ml.url, LOG_LEVEL: 'debug', WEBHOOK_SECRET: secret }));
    const id = await uploadAndProcess(backend.url, 'ko');
    await vi.waitFor(async () => expect((await jobStatus(backend.url, id)).status).toBe('completed'), { timeout: 20_000, interval: 200 });
    await backend.kill('SIGTERM');
    await ml.kill();
    const sql = postgres(scratch.db.url, { max: 1, onnotice: () => {} });
    const [row] = await sql<{ callback_token: string }[]>`select callback_token from jobs where id = ${id}`;
    await sql.end();
    const lines = backend.output().split('\n').filter((l) => l.startsWith('{'));
    expect(lines.length).toBeGreaterThan(5);
    const entries = lines.map((l) => JSON.parse(l) as { level: string; msg: string; request_id?: string; path?: string });
    expect(entries.filter((e) => e.msg === 'request').every((e) => typeof e.request_id === 'string' && e.request_id.length > 0)).toBe(true);
    expect(entries.some((e) => e.path === '/api/ml-callback/[token]/api/upload-video/result')).toBe(true);
    const all = backend.output();
    expect(all).not.toContain(row!.callback_token);
    expect(all).not.toMatch(/[?&](sig|X-Amz-Signature)=/);
    expect(all).not.toContain(secret);
  }, 60_000);

  it('refuses to start with invalid configuration and lists what is wrong', async () => {
    const err = await startBackend({ DATABASE_URL: 'mysql://nope', PORT: 'eighty', ML_API_VERSION: 'v9' }).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(Error);
    const text = String((err as Error).message);
    expect(text).toMatch(/exited with 1/);
    expect(text).toMatch(/DATABASE_URL/);
    expect(text).toMatch(/ML_API_VERSION/);
  }, 30_000);
});

