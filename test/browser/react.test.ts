/**
 * `@ecg/sdk/react` in Chromium: test/browser/react-app (bundled with esbuild, served from another
 * origin) uploads two files at once against the real app and the reference ML server, shows both
 * progress bars, follows both jobs to `completed` and renders each transcript; falls back to
 * ETag polling without an event stream; reports errors as EcgApiError codes; and runs uploads
 * alone (useUploadVideo), each completing, aborted or failing on its own.
 */
import { randomUUID } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import { join } from 'node:path';
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { JobStatusResponse } from '@ecg/sdk';
import { freePort } from '../support/process.js';
import { bundlePage, launchChromium, type LiveBackend,skipBrowser, startLiveBackend } from './react-live.js';

let backend: LiveBackend;
let page: Server;
let browser: Browser;
let pageBase = '';

beforeAll(async () => {
  if (skipBrowser) return;
  const pagePort = await freePort();
  pageBase = `http://localhost:${pagePort}`;
  backend = await startLiveBackend({ CORS_ORIGINS: pageBase });
  const js = await bundlePage(join(import.meta.dirname, 'react-app', 'main.tsx'));
  page = createServer((req, res) => {
    if (req.url === '/app.js') return void res.writeHead(200, { 'content-type': 'text/javascript' }).end(js);
    res.writeHead(200, { 'content-type': 'text/html' }).end('<!doctype html><html lang="en"><title>ECG React test</title><div id="root"></div><script type="module" src="/app.js"></script>');
  });
  await new Promise<void>((r) => page.listen(pagePort, '127.0.0.1', r));
  browser = await launchChromium();
}, 120_000);

afterAll(async () => {
  await browser?.close();
  page?.close();
  await backend?.close();
});

describe.skipIf(skipBrowser)('@ecg/sdk/react in Chromium', () => {
  it('uploads two files at once with a progress bar each, follows both jobs to completed and renders their transcripts', async () => {
    const tab = await browser.newPage();
    const errors: string[] = [];
    tab.on('pageerror', (e) => errors.push(e.message));
    const requests: string[] = [];
    tab.on('request', (r) => {
      if (r.url().startsWith(backend.url)) requests.push(`${r.method()} ${new URL(r.url()).pathname}`);
    });
    await tab.goto(`${pageBase}/?api=${encodeURIComponent(backend.url)}`);
    // Different bytes, so the reference ML server makes a different transcript for each.
    const files = [
      { name: 'first.mp4', mimeType: 'video/mp4', buffer: Buffer.alloc(3 * 1024 * 1024, 1) },
      { name: 'second.mp4', mimeType: 'video/mp4', buffer: Buffer.alloc(2 * 1024 * 1024, 2) },
    ];
    await tab.getByLabel('Videos').setInputFiles(files);

    // Both rows, each with its own two bars, appear at once (before either finishes).
    const items = tab.getByTestId('item');
    await expect.poll(() => items.count()).toBe(2);
    for (const f of files) {
      await tab.getByRole('progressbar', { name: `Upload of ${f.name}` }).waitFor();
      await tab.getByRole('progressbar', { name: `Processing of ${f.name}` }).waitFor();
    }

    await tab.locator('[data-stage="completed"]').nth(1).waitFor({ timeout: 45_000 });
    const rows = await items.evaluateAll((lis) =>
      lis.map((li) => ({
        name: li.querySelector('span')!.textContent,
        upload: Number(li.getAttribute('data-upload')),
        processing: (li.querySelectorAll('progress')[1] as HTMLProgressElement).value,
        stage: li.getAttribute('data-stage'),
        job: li.querySelector('[data-testid="transcript"]')?.getAttribute('data-job') ?? null,
        transcript: li.querySelector('[data-testid="transcript"]')?.textContent ?? null,
      })),
    );
    expect(rows.map((r) => [r.name, r.upload, r.processing, r.stage])).toEqual([
      ['first.mp4', 100, 100, 'completed'],
      ['second.mp4', 100, 100, 'completed'],
    ]);

    // What the page shows is what the backend holds for each job.
    for (const row of rows) {
      const status = (await (await fetch(`${backend.url}/api/upload-video/status/${row.job}`)).json()) as JobStatusResponse;
      expect(status.status).toBe('completed');
      expect(status.result?.text).toBeTruthy();
      expect(row.transcript).toBe(status.result!.text);
    }
    expect(rows[0]!.transcript).not.toBe(rows[1]!.transcript);
    // Followed over the event stream (one per job, shared by the two hooks showing it), never polled.
    for (const row of rows) {
      expect(requests.filter((r) => r === `GET /api/upload-video/status/${row.job}/events`)).toHaveLength(1);
      expect(requests).not.toContain(`GET /api/upload-video/status/${row.job}`);
    }
    // Each job was requested once: two files, two jobs, no duplicate from a retry or a re-render.
    expect(backend.t.mlCalls).toHaveLength(2);
    expect(errors).toEqual([]);
    await tab.close();
  }, 90_000);

  it('falls back to polling with ETags when the event stream is not offered, and stops at the terminal state', async () => {
    const tab = await browser.newPage();
    const polls: Array<string | null> = [];
    await tab.route('**/events', (route) => route.fulfill({ status: 404, contentType: 'application/json', body: '{"error":"NOT_FOUND","message":"No such route."}' }));
    tab.on('request', (r) => {
      if (/\/status\/[^/]+$/.test(r.url())) polls.push(r.headers()['if-none-match'] ?? null);
    });
    await tab.goto(`${pageBase}/?api=${encodeURIComponent(backend.url)}`);
    await tab.getByLabel('Videos').setInputFiles([{ name: 'polled.mp4', mimeType: 'video/mp4', buffer: Buffer.alloc(64 * 1024, 5) }]);
    await tab.getByTestId('transcript').waitFor({ timeout: 45_000 });
    expect(await tab.getByTestId('stage').textContent()).toBe('completed');
    expect(polls.length).toBeGreaterThan(1);
    // After the first answer every poll is conditional.
    expect(polls.slice(1).every((etag) => etag !== null)).toBe(true);
    const settled = polls.length;
    await tab.waitForTimeout(2500);
    expect(polls.length).toBe(settled);
    await tab.close();
  }, 90_000);

  it('gives an EcgApiError with its code for a job that does not exist, from useJob and useJobVideo', async () => {
    const tab = await browser.newPage();
    await tab.goto(`${pageBase}/?api=${encodeURIComponent(backend.url)}&job=${randomUUID()}`);
    const alert = tab.getByRole('alert');
    await alert.waitFor({ timeout: 30_000 });
    expect(await alert.getAttribute('data-code')).toBe('JOB_NOT_FOUND');
    expect(await alert.getAttribute('data-instance')).toBe('true');
    expect(await alert.getAttribute('data-video-code')).toBe('JOB_NOT_FOUND');
    await tab.close();
  }, 60_000);

  it('uploads several files at once with useUploadVideo: one completes, one is aborted, one fails, each on its own', async () => {
    const tab = await browser.newPage();
    // Storage answers the PUT of one file with 500 and holds another long enough to abort it.
    await tab.route('**/storage/**', async (route) => {
      const url = route.request().url();
      if (url.includes('broken.mp4')) return route.fulfill({ status: 500, body: 'storage is down' });
      if (url.includes('slow.mp4')) await new Promise((r) => setTimeout(r, 2000));
      await route.continue().catch(() => {});
    });
    await tab.goto(`${pageBase}/?mode=upload&api=${encodeURIComponent(backend.url)}`);
    await tab.getByLabel('Files').setInputFiles(['fine.mp4', 'slow.mp4', 'broken.mp4'].map((name, i) => ({ name, mimeType: 'video/mp4', buffer: Buffer.alloc(256 * 1024, i) })));
    await tab.getByRole('button', { name: 'Abort slow.mp4' }).click();
    const row = (name: string) => tab.locator(`[data-testid="upload"][data-name="${name}"]`);
    await row('fine.mp4').and(tab.locator('[data-state="uploaded"]')).waitFor({ timeout: 30_000 });
    await row('slow.mp4').and(tab.locator('[data-state="aborted"]')).waitFor({ timeout: 30_000 });
    await row('broken.mp4').and(tab.locator('[data-state="failed"]')).waitFor({ timeout: 30_000 });
    expect(await row('fine.mp4').getAttribute('data-key')).toMatch(/^videos\/anonymous\/\d{8}_\d{6}_[0-9a-f]{8}_fine\.mp4$/);
    expect(await row('fine.mp4').getByRole('progressbar').evaluate((p: HTMLProgressElement) => p.value)).toBe(100);
    expect(await row('broken.mp4').getAttribute('data-code')).toBe('UPLOAD_FAILED');
    expect(await row('slow.mp4').getAttribute('data-code')).toBe('');
    expect(await row('slow.mp4').getAttribute('data-key')).toBe('');
    await tab.close();
  }, 60_000);
});
