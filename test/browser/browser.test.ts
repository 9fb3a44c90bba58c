/**
 * In a real browser (Debian's Chromium, driven by playwright-core):
 *  - a page on another origin uses the SDK's browser build to upload a file with XMLHttpRequest
 *    (CORS preflights to the API and to the embedded storage, upload progress), start a job and
 *    follow it to `completed` over Server-Sent Events;
 *  - /docs renders the API reference for both versions without any CDN.
 * Skipped, and says so, where no Chromium is installed (`apt-get install chromium`); fails instead under CI=true.
 */
import { createServer, type Server } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { serve } from '@hono/node-server';
import { build } from 'esbuild';
import { type Browser,chromium } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createCallbackClient } from '@ecg/sdk/ml-server';
import { sampleResult } from '../sdk/helpers.js';
import { createTestApp, type TestApp } from '../support/app.js';
import { freePort } from '../support/process.js';
import { requireTool } from '../support/tools.js';

const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const haveBrowser = requireTool('chromium', CHROMIUM);

let t: TestApp;
let backend: ReturnType<typeof serve>;
let page: Server;
let browser: Browser;
let apiBase = '';
let pageBase = '';

/** The ML server's side: accept, then report progress and the result through the callback base. */
const mlAnswer = (body: Record<string, unknown>) => {
  const cb = createCallbackClient({ baseUrl: String(body.fastapi_base_url) });
  setTimeout(() => void cb.progress(String(body.job_id), 40, 'Identifying speakers').then(() => cb.completed(String(body.job_id), sampleResult)), 100);
  return Response.json({ job_id: body.job_id, status: 'processing' });
};

beforeAll(async () => {
  if (!haveBrowser) return;
  const [apiPort, pagePort] = [await freePort(), await freePort()];
  apiBase = `http://127.0.0.1:${apiPort}`;
  // A different origin from the API's (localhost vs 127.0.0.1), so every call is cross-origin.
  pageBase = `http://localhost:${pagePort}`;
  // Its dispatcher runs: a database of its own, so it never sees other files' jobs.
  t = await createTestApp({ FASTAPI_BASE_URL: apiBase, CORS_ORIGINS: pageBase }, mlAnswer, { isolatedDatabase: true });
  backend = serve({ fetch: t.app.fetch, port: apiPort, hostname: '127.0.0.1' });
  t.dispatcher.start(100);

  // The SDK's frontend entry, bundled for the browser as an application would.
  const bundle = await build({
    entryPoints: [join(import.meta.dirname, '..', '..', 'sdk', 'src', 'index.ts')],
    bundle: true, format: 'esm', platform: 'browser', write: false, minify: true,
  });
  const sdkJs = bundle.outputFiles[0]!.text;
  page = createServer((req, res) => {
    if (req.url === '/sdk.js') return void res.writeHead(200, { 'content-type': 'text/javascript' }).end(sdkJs);
    res.writeHead(200, { 'content-type': 'text/html' }).end('<!doctype html><title>ECG test page</title><p id="out">ready</p>');
  });
  await new Promise<void>((r) => page.listen(pagePort, '127.0.0.1', r));
  browser = await chromium.launch({
    executablePath: CHROMIUM,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
}, 120_000);

afterAll(async () => {
  await browser?.close();
  page?.close();
  backend?.close();
  await t?.close();
});

describe.skipIf(!haveBrowser)('in Chromium', () => {
  it('uploads with progress, starts a job and follows it to completed from another origin', async () => {
    const tab = await browser.newPage();
    await tab.goto(pageBase);
    // A string, so the test runner's transform leaves the page's dynamic import alone.
    const outcome = await tab.evaluate<{ fileKey: string; progress: number[]; seen: string[]; status: string; text: string | null }>(`(async () => {
      const { createBackendClient } = await import('/sdk.js');
      const ecg = createBackendClient({ baseUrl: ${JSON.stringify(apiBase)} });
      const progress = [];
      const file = new File([new Uint8Array(2 * 1024 * 1024).fill(3)], 'from-browser.mp4', { type: 'video/mp4' });
      const fileKey = await ecg.uploadVideo(file, { onProgress: ({ percent }) => progress.push(percent) });
      const job = await ecg.requestProcess({ fileKey, language: 'auto' });
      const seen = [];
      const final = await ecg.waitForJob(job.job_id, { onProgress: (s) => seen.push(s.status + ':' + s.progress) });
      return { fileKey, progress, seen, status: final.status, text: final.result ? final.result.text : null };
    })()`);
    expect(outcome.fileKey).toMatch(/^videos\/anonymous\/\d{8}_\d{6}_[0-9a-f]{8}_from-browser\.mp4$/);
    expect(outcome.progress.at(-1)).toBe(100);
    expect(outcome.status).toBe('completed');
    expect(outcome.text).toBe(sampleResult.text);
    expect(outcome.seen.at(-1)).toBe('completed:100');
    await tab.close();
  }, 60_000);

  it('renders the API reference at /docs from our own script, with the v1.1 spec and a v1.0 choice', async () => {
    const tab = await browser.newPage();
    const ours: string[] = [];
    tab.on('requestfinished', (r) => {
      if (r.url().startsWith(apiBase)) ours.push(new URL(r.url()).pathname);
    });
    await tab.goto(`${apiBase}/docs`);
    await tab.getByText('Get a presigned URL to upload a video').first().waitFor({ timeout: 30_000 });
    await tab.getByText('ECG backend API').first().waitFor({ timeout: 30_000 });
    // The version switcher offers the other spec.
    await tab.getByText('v1.1', { exact: true }).first().click();
    await tab.getByText('v1.0', { exact: true }).first().waitFor({ timeout: 10_000 });
    expect(ours).toEqual(expect.arrayContaining(['/docs', '/docs/scalar.js', '/openapi/v1.1.json']));
    await tab.screenshot({ path: join(tmpdir(), 'ecg-docs.png') });
    await tab.close();
  }, 60_000);
});
