/**
 * Upload throughput on loopback: `npx tsx bench/upload.ts [MiB]` (default 256). The embedded storage
 * behind a real HTTP server on 127.0.0.1 receives the same file as one presigned PUT, then as a
 * multipart upload (16 MiB parts, 4 at a time, assembled on complete). Prints one line per way,
 * in MB/s (10^6 bytes), best of three runs.
 */
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { serve } from '@hono/node-server';
import { Hono } from 'hono';
import { checkCompletion, createEmbeddedStorage, embeddedStorageRoutes, planMultipart } from '../server/storage/index.js';

const MiB = 1024 ** 2;
const size = Number(process.argv[2] ?? 256) * MiB;
const PART = 16 * MiB;
const CONCURRENCY = 4;

const dir = await mkdtemp(join(tmpdir(), 'ecg-bench-upload-'));
const holder: { app?: Hono } = {};
const server = serve({ fetch: (req, env) => holder.app!.fetch(req, env), port: 0, hostname: '127.0.0.1' });
await new Promise<void>((resolve) => (server.listening ? resolve() : server.once('listening', () => resolve())));
const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
const storage = createEmbeddedStorage({ dir, publicBaseUrl: base, secret: randomBytes(32), maxBytes: 4 * 1024 * MiB });
holder.app = new Hono().route('/storage', embeddedStorageRoutes(storage));
await storage.ready();
const file = new Blob([randomBytes(size)], { type: 'video/mp4' });
let n = 0;

async function single(): Promise<void> {
  const up = await storage.presignUpload(`videos/bench/single-${n++}.mp4`, { contentType: 'video/mp4', maxBytes: size, expiresIn: 600 });
  const res = await fetch(up.url, { method: 'PUT', headers: up.headers, body: file });
  if (res.status !== 200) throw new Error(`single PUT answered ${res.status}`);
}

async function multipart(): Promise<void> {
  const upload = await storage.multipart.create(`videos/bench/multi-${n++}.mp4`, planMultipart('video/mp4', size, PART));
  const queue = Array.from({ length: upload.partCount }, (_, i) => i + 1);
  const worker = async () => {
    for (let part = queue.shift(); part !== undefined; part = queue.shift()) {
      const [url] = await storage.multipart.presignParts(upload, [part], 600);
      const res = await fetch(url!.url, { method: 'PUT', body: file.slice((part - 1) * PART, (part - 1) * PART + url!.size) });
      await res.arrayBuffer();
      if (res.status !== 200) throw new Error(`part ${part} answered ${res.status}`);
    }
  };
  await Promise.all(Array.from({ length: CONCURRENCY }, worker));
  await storage.multipart.complete(upload, checkCompletion(upload, await storage.multipart.listParts(upload)));
}

async function best(run: () => Promise<void>): Promise<number> {
  let fastest = Infinity;
  for (let i = 0; i < 3; i++) {
    const started = performance.now();
    await run();
    fastest = Math.min(fastest, performance.now() - started);
  }
  return size / 1e6 / (fastest / 1000);
}

try {
  const put = await best(single);
  const parts = await best(multipart);
  console.log(`upload ${size / MiB} MiB, embedded storage on loopback: single PUT ${put.toFixed(0)} MB/s; multipart (${PART / MiB} MiB parts x${CONCURRENCY}, incl. complete) ${parts.toFixed(0)} MB/s`);
} finally {
  server.close();
  await rm(dir, { recursive: true, force: true });
}
