/**
 * In Chromium, through the SDK's browser build: a 300 MiB file generated in the page goes to the
 * embedded storage in 16 MiB parts, through a TCP proxy that cuts every connection once 100 MiB
 * have passed (and refuses new ones until the page is reloaded). After the reload the upload
 * resumes from the parts storage holds: no stored part is sent again, and the assembled object's
 * SHA-256 equals the file's. Skipped, and says so, where no Chromium is installed.
 */
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { connect, createServer as createTcpServer, type Server as TcpServer, type Socket } from 'node:net';
import { join } from 'node:path';
import { serve } from '@hono/node-server';
import { build } from 'esbuild';
import { type Browser, chromium } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestApp, type TestApp } from '../support/app.js';
import { freePort } from '../support/process.js';
import { requireTool } from '../support/tools.js';

const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const haveBrowser = requireTool('chromium', CHROMIUM);
const MiB = 1024 ** 2;
const SIZE = 300 * MiB;
const CUT_AFTER = 100 * MiB;

/**
 * The file, the same in the page and here: 1 MiB blocks of a xorshift stream seeded by the block's
 * index. Kept as source text so the page runs exactly this function.
 */
const GENERATOR = `function block(i) {
  const out = new Uint32Array(${MiB / 4});
  let x = (i + 1) * 2654435761 >>> 0 || 1;
  for (let j = 0; j < out.length; j++) { x ^= x << 13; x >>>= 0; x ^= x >>> 17; x ^= x << 5; x >>>= 0; out[j] = x; }
  return new Uint8Array(out.buffer);
}`;
// The page runs the same source text, so both sides build the same bytes.
// eslint-disable-next-line @typescript-eslint/no-implied-eval
const block = new Function(`${GENERATOR}; return block;`)() as (i: number) => Uint8Array;

let t: TestApp;
let backend: ReturnType<typeof serve>;
let proxy: TcpServer;
let page: Server;
let browser: Browser;
let apiBase = '';
let pageBase = '';
let dataDir = '';
const proxyState = { forwarded: 0, down: false, cut: false, sockets: new Set<Socket>() };
/** Part PUTs the storage answered 200, by part number, per phase. */
const storedParts: Record<'before' | 'after', number[]> = { before: [], after: [] };
let phase: 'before' | 'after' = 'before';

beforeAll(async () => {
  if (!haveBrowser) return;
  const [apiPort, proxyPort, pagePort] = [await freePort(), await freePort(), await freePort()];
  apiBase = `http://127.0.0.1:${apiPort}`;
  pageBase = `http://localhost:${pagePort}`;
  // The public base decides the host of storage URLs: they go through the proxy.
  t = await createTestApp({ FASTAPI_BASE_URL: `http://127.0.0.1:${proxyPort}`, CORS_ORIGINS: pageBase });
  dataDir = t.config.dataDir;
  backend = serve({
    fetch: async (req, env) => {
      const res = await t.app.fetch(req, env);
      const part = new URL(req.url).searchParams.get('part');
      if (req.method === 'PUT' && part !== null && res.status === 200) storedParts[phase].push(Number(part));
      return res;
    },
    port: apiPort,
    hostname: '127.0.0.1',
  });

  proxy = createTcpServer((client) => {
    if (proxyState.down) return void client.destroy();
    const upstream = connect(apiPort, '127.0.0.1');
    proxyState.sockets.add(client).add(upstream);
    const drop = () => {
      client.destroy();
      upstream.destroy();
      proxyState.sockets.delete(client);
      proxyState.sockets.delete(upstream);
    };
    client.on('data', (chunk: Buffer) => {
      proxyState.forwarded += chunk.length;
      if (!proxyState.cut && proxyState.forwarded > CUT_AFTER) {
        proxyState.cut = true;
        proxyState.down = true;
        for (const s of proxyState.sockets) s.destroy();
      }
    });
    client.pipe(upstream).pipe(client);
    client.on('error', drop).on('close', drop);
    upstream.on('error', drop).on('close', drop);
  });
  await new Promise<void>((r) => proxy.listen(proxyPort, '127.0.0.1', r));

  const bundle = await build({
    entryPoints: [join(import.meta.dirname, '..', '..', 'sdk', 'src', 'index.ts')],
    bundle: true, format: 'esm', platform: 'browser', write: false, minify: true, splitting: true, outdir: '/sdk',
  });
  const files = new Map(bundle.outputFiles.map((f) => [`/sdk/${f.path.split('/').at(-1)}`, f.text]));
  page = createServer((req, res) => {
    const js = files.get(req.url ?? '');
    if (js !== undefined) return void res.writeHead(200, { 'content-type': 'text/javascript' }).end(js);
    res.writeHead(200, { 'content-type': 'text/html' }).end('<!doctype html><title>ECG multipart page</title>');
  });
  await new Promise<void>((r) => page.listen(pagePort, '127.0.0.1', r));
  browser = await chromium.launch({
    executablePath: CHROMIUM,
    args: ['--headless', '--js-flags=--expose-gc', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
}, 120_000);

afterAll(async () => {
  await browser?.close();
  page?.close();
  for (const s of proxyState.sockets) s.destroy();
  proxy?.close();
  backend?.close();
  await t?.close();
});

/** The page's script: build the file, upload it in parts, report what happened. */
const upload = `(async () => {
  ${GENERATOR}
  const blocks = [];
  for (let i = 0; i < ${SIZE / MiB}; i++) blocks.push(block(i));
  const file = new File(blocks, 'lecture.mp4', { type: 'video/mp4', lastModified: 1700000000000 });
  const { createBackendClient } = await import('/sdk/index.js');
  const ecg = createBackendClient({ baseUrl: ${JSON.stringify('API_BASE')} });
  const sent = [];
  let first;
  try {
    const fileKey = await ecg.uploadVideo(file, {
      multipart: { partSize: ${16 * MiB}, concurrency: 4, retries: 1, onPart: (n) => sent.push(n) },
      onProgress: (p) => { if (first === undefined) first = p.loaded; },
    });
    return { fileKey, sent, first, remembered: Object.keys(localStorage).length };
  } catch (err) {
    return { error: String(err && err.code || err), message: String(err && err.message), sent, first, remembered: Object.keys(localStorage).length };
  }
})()`;

interface Outcome {
  fileKey?: string;
  error?: string;
  sent: number[];
  first: number;
  remembered: number;
}

async function sha256File(file: string): Promise<string> {
  const hash = createHash('sha256');
  for await (const chunk of createReadStream(file)) hash.update(chunk as Buffer);
  return hash.digest('hex');
}

describe.skipIf(!haveBrowser)('in Chromium, a 300 MiB multipart upload', () => {
  it('survives a cut connection and a page reload, re-sends no stored part, and stores the exact file', async () => {
    const tab = await browser.newPage();
    await tab.goto(pageBase);
    const script = upload.replace('"API_BASE"', JSON.stringify(apiBase));
    const before: Outcome = await tab.evaluate(script);
    expect(proxyState.cut).toBe(true);
    expect(before.error).toBeDefined();
    expect(before.remembered).toBe(1);
    expect(storedParts.before.length).toBeGreaterThan(0);

    phase = 'after';
    proxyState.down = false;
    // Release the first page's 300 MiB Blob before the reload builds another (Chromium caps Blob memory).
    await tab.evaluate('gc()');
    await tab.reload();
    const after: Outcome = await tab.evaluate(script);
    expect(after.error, JSON.stringify(after)).toBeUndefined();
    expect(after.remembered).toBe(0);
    // Nothing stored before the reload went out again, and everything missing did.
    expect(after.sent.filter((n) => storedParts.before.includes(n))).toEqual([]);
    expect([...new Set([...storedParts.before, ...storedParts.after])].sort((a, b) => a - b)).toEqual(Array.from({ length: Math.ceil(SIZE / (16 * MiB)) }, (_, i) => i + 1));
    expect(after.first).toBe(storedParts.before.length * 16 * MiB);

    const expected = createHash('sha256');
    for (let i = 0; i < SIZE / MiB; i++) expected.update(block(i));
    expect(await sha256File(join(dataDir, 'storage', 'objects', ...after.fileKey!.split('/')))).toBe(expected.digest('hex'));
    await tab.close();
  }, 180_000);
});
