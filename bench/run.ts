/**
 * Benchmarks: `npm run bench`. Starts the backend over real HTTP on 127.0.0.1 with a real Postgres
 * (DATABASE_URL, or an embedded one in a temp dir) and measures:
 *  1. a 60-minute result (~3 MB, ~0.75 KB per second of video) posted as the completion callback:
 *     time until the 200 acknowledgement (the ML server allows 30 s), and the backend's RSS growth;
 *  2. status polling, 2 pollers per job as the frontend does, with and without ETag revalidation:
 *     requests per second and latency percentiles.
 * Each part stops by itself after a fixed number of requests.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { serve } from '@hono/node-server';
import { loadConfig } from '../server/config.js';
import { createLogger } from '../server/logger.js';
import { createRuntime } from '../server/runtime.js';

function bigResult(minutes: number) {
  const segments = [];
  let t = 0;
  let id = 0;
  while (t < minutes * 60) {
    const words = [];
    for (let w = 0; w < 12; w++) {
      words.push({ word: `word${w}`, start: +(t + w * 0.26).toFixed(3), end: +(t + w * 0.26 + 0.22).toFixed(3), confidence: 0.9123, volume_db: -20.537, pitch_hz: 180.254, acoustic_features: { volume_db: -20.537, pitch_hz: 180.254, spectral_centroid: 1523.5 } });
    }
    segments.push({ id: id++, start_time: t, end_time: t + 3.2, speaker: { speaker_id: `SPEAKER_0${id % 3}` }, text: words.map((w) => w.word).join(' '), words });
    t += 3.2;
  }
  return { text: segments.map((s) => s.text).join(' '), language: 'en', duration: minutes * 60, metadata: { filename: 'long.mp4', model_version: 'whisperx-base', processing_time: 120 }, segments };
}

const pct = (xs: number[], p: number) => xs[Math.min(xs.length - 1, Math.floor((p / 100) * xs.length))]!;

async function main() {
  const dataDir = await mkdtemp(join(tmpdir(), 'ecg-bench-'));
  const config = loadConfig({ ...process.env, DATA_DIR: dataDir, PORT: '0', MODEL_SERVER_URL: 'http://127.0.0.1:9', LOG_LEVEL: 'silent', RATE_LIMIT_PER_MINUTE: '0' });
  const runtime = await createRuntime(config, createLogger('silent'), { startDispatcher: false });
  const server = serve({ fetch: runtime.app.fetch, port: 0, hostname: '127.0.0.1' });
  await new Promise((r) => server.once('listening', r));
  const base = `http://127.0.0.1:${(server.address() as { port: number }).port}`;
  const sql = runtime.database.sql;

  async function newJob(): Promise<{ id: string; token: string }> {
    const id = randomUUID();
    const token = randomBytes(24).toString('base64url');
    await sql`insert into jobs (id, status, file_key, callback_token, progress) values (${id}, 'processing', 'videos/anonymous/bench.mp4', ${token}, 50)`;
    return { id, token };
  }

  console.log(`ECG backend benchmark — node ${process.version}, ${runtime.embeddedPostgres ? 'embedded PostgreSQL' : 'DATABASE_URL PostgreSQL'}`);

  // 1. Large completion callback.
  const body = JSON.stringify({ job_id: '', status: 'completed', progress: 100, message: null, result: bigResult(60), error_message: null, error_code: null });
  console.log(`\n1. 60-minute completion callback: ${(body.length / 1024 / 1024).toFixed(2)} MB`);
  const times: number[] = [];
  const rssBefore = process.memoryUsage().rss;
  let rssPeak = rssBefore;
  const sampler = setInterval(() => (rssPeak = Math.max(rssPeak, process.memoryUsage().rss)), 10);
  for (let i = 0; i < 10; i++) {
    const job = await newJob();
    const payload = body.replace('"job_id":""', `"job_id":"${job.id}"`);
    const started = performance.now();
    const res = await fetch(`${base}/api/ml-callback/${job.token}/api/upload-video/result`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: payload });
    await res.text();
    times.push(performance.now() - started);
    if (res.status !== 200) throw new Error(`callback answered ${res.status}`);
  }
  clearInterval(sampler);
  times.sort((a, b) => a - b);
  console.log(`   acknowledged in: median ${pct(times, 50).toFixed(0)} ms, max ${times.at(-1)!.toFixed(0)} ms (10 runs; the ML server waits 30000 ms)`);
  console.log(`   process RSS: ${(rssBefore / 2 ** 20).toFixed(0)} MB before, ${(rssPeak / 2 ** 20).toFixed(0)} MB peak (client and server share this process)`);

  // 2. Status polling.
  for (const revalidate of [false, true]) {
    const jobsToPoll = await Promise.all(Array.from({ length: 20 }, () => newJob()));
    const etags = new Map<string, string>();
    const latencies: number[] = [];
    const total = 4000;
    let sent = 0;
    let notModified = 0;
    const started = performance.now();
    // 2 pollers per job (CONTRACT.md: the frontend runs two), 40 concurrent connections.
    await Promise.all(
      jobsToPoll.flatMap((job) => [0, 1].map(async () => {
        while (sent < total) {
          sent++;
          const t0 = performance.now();
          const headers: Record<string, string> = {};
          const tag = etags.get(job.id);
          if (revalidate && tag) headers['if-none-match'] = tag;
          const res = await fetch(`${base}/api/upload-video/status/${job.id}`, { headers });
          await res.arrayBuffer();
          latencies.push(performance.now() - t0);
          if (res.status === 304) notModified++;
          const et = res.headers.get('etag');
          if (et) etags.set(job.id, et);
        }
      })),
    );
    const secs = (performance.now() - started) / 1000;
    latencies.sort((a, b) => a - b);
    console.log(`\n2${revalidate ? 'b' : 'a'}. status polling${revalidate ? ' with If-None-Match' : ''}: ${total} requests, 40 pollers`);
    console.log(`   ${(total / secs).toFixed(0)} req/s; latency p50 ${pct(latencies, 50).toFixed(1)} ms, p99 ${pct(latencies, 99).toFixed(1)} ms${revalidate ? `; ${notModified} answered 304` : ''}`);
  }

  server.close();
  await runtime.close();
  await rm(dataDir, { recursive: true, force: true });
}

await main();
