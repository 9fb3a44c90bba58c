/**
 * In Chromium, through the SDK's browser build, to the S3 driver's test server (s3rver) with the
 * bucket CORS rule docs/deploy.md gives: a file in one request goes as the size-capped form POST
 * (XMLHttpRequest with FormData, progress to the last byte), a larger one in parts; both objects
 * are the file byte for byte. Skipped, and says so, where no Chromium is installed.
 */
import { createHash } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import { join } from 'node:path';
import { serve } from '@hono/node-server';
import { build } from 'esbuild';
import { type Browser, chromium } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BUCKET, type Local, startLocalS3 } from '../storage/local-s3.js';
import { createTestApp, type TestApp } from '../support/app.js';
import { freePort } from '../support/process.js';
import { requireTool } from '../support/tools.js';

const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const haveBrowser = requireTool('chromium', CHROMIUM);
const MiB = 1024 ** 2;

let s3: Local;
let t: TestApp;
let backend: ReturnType<typeof serve>;
let page: Server;
let browser: Browser;
let apiBase = '';
let pageBase = '';
/** What reached storage from the page: method and path of each request. */
const storageRequests: string[] = [];

beforeAll(async () => {
  if (!haveBrowser) return;
  const [apiPort, pagePort] = [await freePort(), await freePort()];
  apiBase = `http://127.0.0.1:${apiPort}`;
  pageBase = `http://localhost:${pagePort}`;
  s3 = await startLocalS3(pageBase);
  t = await createTestApp({ FASTAPI_BASE_URL: apiBase, CORS_ORIGINS: pageBase }, undefined, { storage: s3.storage });
  backend = serve({ fetch: t.app.fetch, port: apiPort, hostname: '127.0.0.1' });

  const bundle = await build({
    entryPoints: [join(import.meta.dirname, '..', '..', 'sdk', 'src', 'index.ts')],
    bundle: true, format: 'esm', platform: 'browser', write: false, minify: true, splitting: true, outdir: '/sdk',
  });
  const files = new Map(bundle.outputFiles.map((f) => [`/sdk/${f.path.split('/').at(-1)}`, f.text]));
  page = createServer((req, res) => {
    const js = files.get(req.url ?? '');
    if (js !== undefined) return void res.writeHead(200, { 'content-type': 'text/javascript' }).end(js);
    res.writeHead(200, { 'content-type': 'text/html' }).end('<!doctype html><title>ECG S3 upload page</title>');
  });
  await new Promise<void>((r) => page.listen(pagePort, '127.0.0.1', r));
  browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--headless', '--no-sandbox', '--disable-gpu', '--no-first-run', '--disable-background-networking'] });
}, 120_000);

afterAll(async () => {
  await browser?.close();
  page?.close();
  backend?.close();
  await t?.close();
  await s3?.close();
});

/** The same bytes in the page and here: byte i is (i * 31 + 7) mod 251. */
const PATTERN = (size: number) => Uint8Array.from({ length: size }, (_, i) => (i * 31 + 7) % 251);

const script = (size: number, options: string) => `(async () => {
  const bytes = new Uint8Array(${size});
  for (let i = 0; i < bytes.length; i++) bytes[i] = (i * 31 + 7) % 251;
  const { createBackendClient } = await import('/sdk/index.js');
  const ecg = createBackendClient({ baseUrl: ${JSON.stringify(apiBase)} });
  const progress = [];
  try {
    const fileKey = await ecg.uploadVideo(new File([bytes], 'talk.mp4', { type: 'video/mp4' }), { ...${options}, onProgress: (p) => progress.push(p.loaded) });
    return { fileKey, progress };
  } catch (err) {
    return { error: String(err && err.message || err), progress };
  }
})()`;

interface Outcome {
  fileKey?: string;
  error?: string;
  progress: number[];
}

async function storedSha256(key: string): Promise<string> {
  const res = await fetch(await s3.storage.presignDownload(key, { expiresIn: 60 }));
  return createHash('sha256').update(new Uint8Array(await res.arrayBuffer())).digest('hex');
}

describe.skipIf(!haveBrowser)('in Chromium, uploads to S3', () => {
  it('a file in one request goes as the form POST under the size policy, and one over the threshold in parts', async () => {
    const tab = await browser.newPage();
    tab.on('request', (req) => {
      if (req.url().startsWith(s3.endpoint)) storageRequests.push(`${req.method()} ${new URL(req.url()).pathname}`);
    });
    await tab.goto(pageBase);

    const single = await tab.evaluate<Outcome>(script(3 * MiB + 5, '{}'));
    expect(single.error, JSON.stringify(single)).toBeUndefined();
    expect(single.progress.at(-1)).toBe(3 * MiB + 5);
    expect(storageRequests).toEqual([`POST /${BUCKET}`]);
    expect(await storedSha256(single.fileKey!)).toBe(createHash('sha256').update(PATTERN(3 * MiB + 5)).digest('hex'));
    expect((await s3.storage.head(single.fileKey!))?.contentType).toBe('video/mp4');

    storageRequests.length = 0;
    const parts = await tab.evaluate<Outcome>(script(12 * MiB + 1, `{ multipart: { partSize: ${5 * MiB}, resume: false } }`));
    expect(parts.error, JSON.stringify(parts)).toBeUndefined();
    expect(storageRequests.filter((r) => r.startsWith('PUT '))).toHaveLength(3);
    expect(await storedSha256(parts.fileKey!)).toBe(createHash('sha256').update(PATTERN(12 * MiB + 1)).digest('hex'));
    await tab.close();
  }, 120_000);
});
