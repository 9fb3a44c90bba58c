/** GET /metrics (server/http/metrics.ts): Prometheus text that moves with the traffic, labelled by route template. */
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { loadConfig } from '../../server/config.js';
import { createLogger } from '../../server/logger.js';
import { createRuntime } from '../../server/runtime.js';
import { createTestApp, PUBLIC_BASE, type TestApp } from '../support/app.js';
import { scratchDatabase } from '../support/db.js';

let t: TestApp;
let guarded: TestApp;
const TOKEN = 'metrics-token-0123456789';

beforeAll(async () => {
  [t, guarded] = await Promise.all([
    createTestApp({ ALLOW_UNSIGNED_CALLBACKS: 'true', RATE_LIMIT_PER_MINUTE: '0' }),
    createTestApp({ METRICS_TOKEN: TOKEN }),
  ]);
});
afterAll(async () => {
  await Promise.all([t?.close(), guarded?.close()]);
});

async function scrape(app: TestApp, headers: Record<string, string> = {}): Promise<string> {
  const res = await app.app.fetch(new Request(`${PUBLIC_BASE}/metrics`, { headers }));
  expect(res.status).toBe(200);
  expect(res.headers.get('content-type')).toMatch(/^text\/plain; version=0\.0\.4/);
  return res.text();
}

/** The value of the sample `name{labels}` (labels in any order), or 0 when absent. */
function sample(text: string, name: string, labels: Record<string, string> = {}): number {
  for (const line of text.split('\n')) {
    const m = /^([a-z_]+)(?:\{(.*)\})? (\S+)$/.exec(line);
    if (!m || m[1] !== name) continue;
    const have = Object.fromEntries([...(m[2] ?? '').matchAll(/(\w+)="([^"]*)"/g)].map((x) => [x[1], x[2]]));
    if (Object.entries(labels).every(([k, v]) => have[k] === v)) return Number(m[3]);
  }
  return 0;
}

describe('GET /metrics', () => {
  it('counts requests by route template and status, and never puts a job id or token in a label', async () => {
    const before = await scrape(t);
    const key = await t.upload();
    const created = await t.client.POST('/api/upload-video/request-process', { body: { fileKey: key } });
    const id = created.data!.job_id;
    await t.client.GET('/api/upload-video/status/{job_id}', { params: { path: { job_id: id } } });
    const after = await scrape(t);
    const route = '/api/upload-video/status/:job_id';
    expect(sample(after, 'ecg_http_request_duration_seconds_count', { route, status: '200', method: 'GET' })).toBe(
      sample(before, 'ecg_http_request_duration_seconds_count', { route, status: '200', method: 'GET' }) + 1,
    );
    expect(after).not.toContain(id);
    expect(after).not.toMatch(/route="\/api\/upload-video\/status\/[0-9a-f-]{36}"/);
    // A path no route serves is counted under one label, whatever it is.
    const stray = crypto.randomUUID();
    expect((await t.app.fetch(new Request(`${PUBLIC_BASE}/no/such/${stray}`))).status).toBe(404);
    const strayScrape = await scrape(t);
    expect(sample(strayScrape, 'ecg_http_request_duration_seconds_count', { route: 'unmatched', status: '404' })).toBeGreaterThanOrEqual(1);
    expect(strayScrape).not.toContain(stray);
  });

  it('reads jobs by status from the database at scrape time', async () => {
    const before = sample(await scrape(t), 'ecg_jobs', { status: 'pending' });
    await t.client.POST('/api/upload-video/request-process', { body: { fileKey: await t.upload() } });
    expect(sample(await scrape(t), 'ecg_jobs', { status: 'pending' })).toBeGreaterThanOrEqual(before + 1);
  });

  it('counts callbacks by authentication kind and outcome', async () => {
    const key = await t.upload();
    const { data } = await t.client.POST('/api/upload-video/request-process', { body: { fileKey: key } });
    const before = sample(await scrape(t), 'ecg_callbacks_total', { auth: 'unsigned', outcome: 'accepted' });
    const res = await t.fetch(`${PUBLIC_BASE}/api/upload-video/result`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ job_id: data!.job_id, status: 'processing', progress: 30, message: 'working' }),
    });
    expect(res.status).toBe(200);
    expect(sample(await scrape(t), 'ecg_callbacks_total', { auth: 'unsigned', outcome: 'accepted' })).toBe(before + 1);
  });

  it('counts dispatch attempts by outcome and times the ML request, through the runtime', async () => {
    const ml = createServer((req, res) => {
      res.writeHead(req.url === '/api/upload-video/process-video' ? 200 : 404, { 'content-type': 'application/json' }).end('{"status":"processing"}');
    });
    await new Promise<void>((r) => ml.listen(0, '127.0.0.1', r));
    const dataDir = await mkdtemp(join(tmpdir(), 'ecg-metrics-'));
    // A database of its own: jobs other files leave processing would count against the dispatch cap.
    const db = await scratchDatabase('ecg_metrics');
    const config = loadConfig({
      DATABASE_URL: db.url,
      DATA_DIR: dataDir,
      MODEL_SERVER_URL: `http://127.0.0.1:${(ml.address() as AddressInfo).port}`,
      RATE_LIMIT_PER_MINUTE: '0',
      LOG_LEVEL: 'silent',
    });
    const runtime = await createRuntime(config, createLogger('silent'), { startDispatcher: false });
    try {
      const get = async () => (await runtime.app.fetch(new Request('http://x/metrics'))).text();
      const before = await get();
      const up = (await (await runtime.app.fetch(new Request('http://x/api/upload-video/generate-url', { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"filename":"a.mp4","content_type":"video/mp4"}' }))).json()) as { upload_url: string; file_key: string; headers: Record<string, string> };
      const put = await runtime.app.fetch(new Request(up.upload_url, { method: 'PUT', headers: up.headers, body: new Uint8Array(64) }));
      expect(put.status).toBe(200);
      const created = await runtime.app.fetch(new Request('http://x/api/upload-video/request-process', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ fileKey: up.file_key }) }));
      expect(created.status).toBe(200);
      await vi.waitFor(async () => {
        await runtime.dispatcher.tick();
        expect(sample(await get(), 'ecg_dispatch_attempts_total', { outcome: 'accepted' })).toBeGreaterThan(sample(before, 'ecg_dispatch_attempts_total', { outcome: 'accepted' }));
      }, { timeout: 10_000, interval: 200 });
      const after = await get();
      expect(sample(after, 'ecg_ml_request_duration_seconds_count', { operation: 'process_video', outcome: 'ok' })).toBeGreaterThan(0);
      expect(sample(after, 'ecg_db_pool_max')).toBe(config.databasePoolSize);
      expect(after).toMatch(/ecg_db_connections\{state="idle"\} \d+/);
    } finally {
      await runtime.close();
      ml.close();
      await db.drop();
      await rm(dataDir, { recursive: true, force: true });
    }
  }, 30_000);

  it('shows an open event stream while it is open', async () => {
    const { data } = await t.client.POST('/api/upload-video/request-process', { body: { fileKey: await t.upload() } });
    const before = sample(await scrape(t), 'ecg_event_streams_open');
    const controller = new AbortController();
    const res = await t.app.fetch(new Request(`${PUBLIC_BASE}/api/upload-video/status/${data!.job_id}/events`, { signal: controller.signal }));
    expect(res.status).toBe(200);
    const reader = res.body!.getReader();
    await reader.read();
    expect(sample(await scrape(t), 'ecg_event_streams_open')).toBe(before + 1);
    await reader.cancel();
    controller.abort();
    await new Promise((r) => setTimeout(r, 50));
    expect(sample(await scrape(t), 'ecg_event_streams_open')).toBe(before);
  });

  it('answers 401 without the METRICS_TOKEN and the numbers with it', async () => {
    const denied = await guarded.app.fetch(new Request(`${PUBLIC_BASE}/metrics`));
    expect(denied.status).toBe(401);
    expect(await denied.json()).toMatchObject({ error: 'UNAUTHORIZED' });
    const wrong = await guarded.app.fetch(new Request(`${PUBLIC_BASE}/metrics`, { headers: { authorization: 'Bearer wrong-token-0123456789' } }));
    expect(wrong.status).toBe(401);
    expect(await scrape(guarded, { authorization: `Bearer ${TOKEN}` })).toContain('ecg_http_request_duration_seconds');
  });
});
