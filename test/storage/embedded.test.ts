import { createHash, createHmac, randomBytes } from 'node:crypto';
import { createReadStream, existsSync } from 'node:fs';
import { readdir } from 'node:fs/promises';
import http from 'node:http';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { createEmbeddedStorage } from '../../server/storage/index.js';
import { SECRET, type Served, serveEmbedded } from './serve-embedded.js';
import { describeStorageContract, uniqueKey, uploadThrough } from './suite.js';

/** Every file below `root`, relative paths. */
async function filesUnder(root: string): Promise<string[]> {
  if (!existsSync(root)) return [];
  const entries = await readdir(root, { recursive: true, withFileTypes: true });
  return entries.filter((e) => e.isFile()).map((e) => path.relative(root, path.join(e.parentPath, e.name)));
}

/** A raw HTTP request that keeps the path exactly as written (fetch would normalise `..`). */
function rawRequest(base: string, method: string, rawPath: string, headers: Record<string, string> = {}, body?: Buffer): Promise<{ status: number; body: string }> {
  const { hostname, port } = new URL(base);
  return new Promise((resolve, reject) => {
    const req = http.request({ hostname, port, method, path: rawPath, headers }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8') }));
    });
    req.on('error', reject);
    req.end(body);
  });
}

/** Signs like the server does (documented format), to forge URLs the storage itself would never issue. */
function forgeSignature(method: string, key: string, expires: number, ct: string, max: string): string {
  return createHmac('sha256', SECRET).update(['ecg-storage-v1', method, key, String(expires), ct, max].join('\n')).digest('base64url');
}

/** A body stream of `chunks` times `chunk`, for fetch (needs duplex: 'half'). */
function repeatStream(chunk: Uint8Array, chunks: number): ReadableStream<Uint8Array> {
  let sent = 0;
  return new ReadableStream<Uint8Array>({
    pull(controller) {
      if (sent === chunks) {
        controller.close();
        return;
      }
      sent += 1;
      controller.enqueue(chunk);
    },
  });
}

function streamingPut(url: string, headers: Record<string, string>, body: ReadableStream<Uint8Array>): Promise<Response> {
  return fetch(url, { method: 'PUT', headers, body, duplex: 'half' } as RequestInit);
}

async function errorBody(res: Response): Promise<{ error: string; message: string }> {
  expect(res.headers.get('content-type')).toMatch(/^application\/json/);
  const body = (await res.json()) as { error: string; message: string };
  expect(typeof body.message).toBe('string');
  return body;
}

describeStorageContract('embedded', async () => {
  const s = await serveEmbedded();
  return {
    storage: s.storage,
    foreignUrls: [
      `http://localhost:${new URL(s.base).port}/storage/videos/a.mp4`,
      `http://127.0.0.1:1/storage/videos/a.mp4`,
      `https://127.0.0.1:${new URL(s.base).port}/storage/videos/a.mp4`,
      `${s.base}/api/upload-video/jobs`,
      `${s.base}/storagex/videos/a.mp4`,
      `https://evil.example.com/storage/videos/a.mp4`,
    ],
    teardown: () => s.close(),
  };
});

describe('embedded storage driver (HTTP routes)', () => {
  let s: Served;
  const bytes = randomBytes(10_000);

  beforeAll(async () => {
    s = await serveEmbedded();
  });
  afterAll(async () => {
    await s.close();
  });

  it('answers a successful PUT with exactly 200 and an empty body', async () => {
    const res = await uploadThrough(s.storage, uniqueKey(), bytes);
    expect(res.status).toBe(200);
    expect(await res.text()).toBe('');
  });

  it('refuses an upload URL with a tampered signature with 403 FORBIDDEN and stores nothing', async () => {
    const key = uniqueKey();
    const up = await s.storage.presignUpload(key, { contentType: 'video/mp4', maxBytes: 1e6, expiresIn: 60 });
    const url = new URL(up.url);
    const sig = url.searchParams.get('sig')!;
    url.searchParams.set('sig', (sig[0] === 'A' ? 'B' : 'A') + sig.slice(1));
    const res = await fetch(url, { method: 'PUT', headers: up.headers, body: bytes });
    expect(res.status).toBe(403);
    expect((await errorBody(res)).error).toBe('FORBIDDEN');
    expect(await s.storage.head(key)).toBeNull();
  });

  it('refuses an upload URL whose signed max, content type or expiry was edited', async () => {
    const up = await s.storage.presignUpload(uniqueKey(), { contentType: 'video/mp4', maxBytes: 100, expiresIn: 60 });
    const edits: Array<[string, string]> = [['max', '999999999'], ['ct', 'text/html'], ['expires', '99999999999']];
    for (const [param, value] of edits) {
      const url = new URL(up.url);
      url.searchParams.set(param, value);
      const headers = param === 'ct' ? { 'Content-Type': value } : up.headers;
      const res = await fetch(url, { method: 'PUT', headers, body: bytes.subarray(0, 10) });
      expect(res.status, param).toBe(403);
      expect((await errorBody(res)).error).toBe('FORBIDDEN');
    }
  });

  it('refuses an upload URL reused for another key with 403', async () => {
    const up = await s.storage.presignUpload(uniqueKey('a.mp4'), { contentType: 'video/mp4', maxBytes: 1e6, expiresIn: 60 });
    const other = uniqueKey('b.mp4');
    const url = new URL(up.url);
    url.pathname = `/storage/${other}`;
    const res = await fetch(url, { method: 'PUT', headers: up.headers, body: bytes });
    expect(res.status).toBe(403);
    expect(await s.storage.head(other)).toBeNull();
  });

  it('refuses an expired upload URL and an expired download URL with 403', async () => {
    const key = uniqueKey();
    expect((await uploadThrough(s.storage, key, bytes)).status).toBe(200);
    const hourAgo = Date.now() - 3_600_000;
    const spy = vi.spyOn(Date, 'now').mockReturnValue(hourAgo);
    const up = await s.storage.presignUpload(uniqueKey(), { contentType: 'video/mp4', maxBytes: 1e6, expiresIn: 60 });
    const down = await s.storage.presignDownload(key, { expiresIn: 60 });
    spy.mockRestore();
    const put = await fetch(up.url, { method: 'PUT', headers: up.headers, body: bytes });
    expect(put.status).toBe(403);
    expect((await errorBody(put)).message).toMatch(/expired/);
    const get = await fetch(down);
    expect(get.status).toBe(403);
    expect((await errorBody(get)).message).toMatch(/expired/);
  });

  it('refuses a PUT whose Content-Type differs from the signed one with 415 and stores nothing', async () => {
    const key = uniqueKey();
    const up = await s.storage.presignUpload(key, { contentType: 'video/mp4', maxBytes: 1e6, expiresIn: 60 });
    for (const headers of [{ 'Content-Type': 'text/html' }, {} as Record<string, string>]) {
      const res = await fetch(up.url, { method: 'PUT', headers, body: bytes });
      expect(res.status).toBe(415);
      expect((await errorBody(res)).error).toBe('UNSUPPORTED_MEDIA_TYPE');
    }
    expect(await s.storage.head(key)).toBeNull();
  });

  it('refuses up front with 413 when Content-Length exceeds the signed max', async () => {
    const key = uniqueKey();
    const up = await s.storage.presignUpload(key, { contentType: 'video/mp4', maxBytes: 1000, expiresIn: 60 });
    expect(new URL(up.url).searchParams.get('max')).toBe('1000');
    const res = await fetch(up.url, { method: 'PUT', headers: up.headers, body: randomBytes(1001) });
    expect(res.status).toBe(413);
    expect((await errorBody(res)).error).toBe('PAYLOAD_TOO_LARGE');
    expect(await s.storage.head(key)).toBeNull();
  });

  it('aborts a streamed upload without Content-Length with 413 once it passes the max, leaving no file behind', async () => {
    const key = uniqueKey();
    const up = await s.storage.presignUpload(key, { contentType: 'video/mp4', maxBytes: 1024 * 1024, expiresIn: 60 });
    const res = await streamingPut(up.url, up.headers, repeatStream(randomBytes(64 * 1024), 40));
    expect(res.status).toBe(413);
    expect(res.headers.get('connection')).toBe('close');
    expect((await errorBody(res)).error).toBe('PAYLOAD_TOO_LARGE');
    await vi.waitFor(async () => expect(await filesUnder(path.join(s.storage.dir, 'tmp'))).toEqual([]));
    expect(await s.storage.head(key)).toBeNull();
  });

  it('caps the signed max at the storage-wide maxBytes', async () => {
    const small = await serveEmbedded(500);
    try {
      const up = await small.storage.presignUpload(uniqueKey(), { contentType: 'video/mp4', maxBytes: 1e9, expiresIn: 60 });
      expect(new URL(up.url).searchParams.get('max')).toBe('500');
      const res = await fetch(up.url, { method: 'PUT', headers: up.headers, body: randomBytes(501) });
      expect(res.status).toBe(413);
    } finally {
      await small.close();
    }
  });

  it('refuses path traversal even when the signature matches the traversing key, writing nothing outside the directory', async () => {
    const expires = Math.floor(Date.now() / 1000) + 60;
    // [key the attacker signed, raw request path, expected status]. Literal and %2e `..` segments are resolved by
    // the URL parser before routing, so they land outside /storage (the mounting app's 404); the rest reach the
    // storage routes and are refused as invalid keys.
    const attempts: Array<[string, string, number]> = [
      ['../outside.txt', '/storage/../outside.txt', 404],
      ['../../outside.txt', '/storage/%2e%2e/%2e%2e/outside.txt', 404],
      ['videos/../../outside.txt', '/storage/videos/..%2F..%2Foutside.txt', 403],
      ['videos\\..\\..\\outside.txt', '/storage/videos%5C..%5C..%5Coutside.txt', 403],
      ['videos/a\u0000.mp4', '/storage/videos/a%00.mp4', 403],
      ['/tmp/outside.txt', '/storage//tmp/outside.txt', 403],
    ];
    for (const [key, rawPath, status] of attempts) {
      const sig = forgeSignature('PUT', key, expires, 'video/mp4', '1000');
      const query = new URLSearchParams({ expires: String(expires), ct: 'video/mp4', max: '1000', sig });
      const res = await rawRequest(s.base, 'PUT', `${rawPath}?${query}`, { 'Content-Type': 'video/mp4' }, Buffer.from('pwned'));
      expect(res.status, rawPath).toBe(status);
      if (status === 403) expect(JSON.parse(res.body)).toMatchObject({ error: 'FORBIDDEN', message: expect.stringMatching(/key is not valid/) });
    }
    expect(existsSync(path.join(s.dir, 'outside.txt'))).toBe(false);
    expect(existsSync(path.join(s.storage.dir, 'outside.txt'))).toBe(false);
    expect(existsSync('/tmp/outside.txt')).toBe(false);
    expect(await filesUnder(s.dir).then((files) => files.filter((f) => f.includes('outside')))).toEqual([]);
  });

  it('refuses a GET signed for upload (the method is part of the signature)', async () => {
    const key = uniqueKey();
    expect((await uploadThrough(s.storage, key, bytes)).status).toBe(200);
    const up = await s.storage.presignUpload(key, { contentType: 'video/mp4', maxBytes: 1e6, expiresIn: 60 });
    const res = await fetch(up.url);
    expect(res.status).toBe(403);
  });

  it('answers 404 FILE_NOT_FOUND for a validly signed download of a missing key', async () => {
    const res = await fetch(await s.storage.presignDownload(uniqueKey('missing.mp4'), { expiresIn: 60 }));
    expect(res.status).toBe(404);
    expect((await errorBody(res)).error).toBe('FILE_NOT_FOUND');
  });

  it('serves downloads with Content-Length, Accept-Ranges and nosniff, and HEAD without a body', async () => {
    const key = uniqueKey();
    expect((await uploadThrough(s.storage, key, bytes, 'video/quicktime')).status).toBe(200);
    const url = await s.storage.presignDownload(key, { expiresIn: 60 });
    const get = await fetch(url);
    expect(get.headers.get('content-length')).toBe(String(bytes.length));
    expect(get.headers.get('accept-ranges')).toBe('bytes');
    expect(get.headers.get('x-content-type-options')).toBe('nosniff');
    await get.arrayBuffer();
    const head = await fetch(url, { method: 'HEAD' });
    expect(head.status).toBe(200);
    expect(head.headers.get('content-type')).toBe('video/quicktime');
    expect(head.headers.get('content-length')).toBe(String(bytes.length));
    expect(await head.text()).toBe('');
  });

  it('serves open-ended (bytes=a-) and suffix (bytes=-n) ranges with 206', async () => {
    const key = uniqueKey();
    expect((await uploadThrough(s.storage, key, bytes)).status).toBe(200);
    const url = await s.storage.presignDownload(key, { expiresIn: 60 });
    const open = await fetch(url, { headers: { Range: 'bytes=9000-' } });
    expect(open.status).toBe(206);
    expect(open.headers.get('content-range')).toBe(`bytes 9000-9999/${bytes.length}`);
    expect(Buffer.from(await open.arrayBuffer()).equals(bytes.subarray(9000))).toBe(true);
    const suffix = await fetch(url, { headers: { Range: 'bytes=-250' } });
    expect(suffix.status).toBe(206);
    expect(suffix.headers.get('content-range')).toBe(`bytes 9750-9999/${bytes.length}`);
    expect(suffix.headers.get('content-length')).toBe('250');
    expect(Buffer.from(await suffix.arrayBuffer()).equals(bytes.subarray(9750))).toBe(true);
    const clamped = await fetch(url, { headers: { Range: 'bytes=9990-20000' } });
    expect(clamped.headers.get('content-range')).toBe(`bytes 9990-9999/${bytes.length}`);
    expect((await clamped.arrayBuffer()).byteLength).toBe(10);
  });

  it('answers an unsatisfiable range with 416 and Content-Range bytes */size, and ignores multi-ranges', async () => {
    const key = uniqueKey();
    expect((await uploadThrough(s.storage, key, bytes)).status).toBe(200);
    const url = await s.storage.presignDownload(key, { expiresIn: 60 });
    const res = await fetch(url, { headers: { Range: `bytes=${bytes.length}-` } });
    expect(res.status).toBe(416);
    expect(res.headers.get('content-range')).toBe(`bytes */${bytes.length}`);
    expect((await errorBody(res)).error).toBe('RANGE_NOT_SATISFIABLE');
    const multi = await fetch(url, { headers: { Range: 'bytes=0-1,5-6' } });
    expect(multi.status).toBe(200);
    expect((await multi.arrayBuffer()).byteLength).toBe(bytes.length);
  });

  it('answers other methods with 405 METHOD_NOT_ALLOWED in the error envelope', async () => {
    const url = await s.storage.presignDownload(uniqueKey(), { expiresIn: 60 });
    const res = await fetch(url, { method: 'DELETE' });
    expect(res.status).toBe(405);
    expect((await errorBody(res)).error).toBe('METHOD_NOT_ALLOWED');
  });

  it('streams a 256 MiB upload to disk without growing RSS by more than a quarter of its size', async () => {
    const chunk = randomBytes(1024 * 1024);
    // Warm-up: the first large transfer grows the heap and socket buffers once, whatever its size.
    const warm = await s.storage.presignUpload(uniqueKey('warm.mp4'), { contentType: 'video/mp4', maxBytes: 64 * chunk.length, expiresIn: 600 });
    expect((await streamingPut(warm.url, warm.headers, repeatStream(chunk, 64))).status).toBe(200);

    const chunks = 256;
    const total = chunk.length * chunks;
    const key = uniqueKey('big.mp4');
    const up = await s.storage.presignUpload(key, { contentType: 'video/mp4', maxBytes: total, expiresIn: 600 });
    const before = process.memoryUsage.rss();
    let peak = before;
    const sampler = setInterval(() => {
      peak = Math.max(peak, process.memoryUsage.rss());
    }, 5);
    let res: Response;
    try {
      res = await streamingPut(up.url, up.headers, repeatStream(chunk, chunks));
    } finally {
      clearInterval(sampler);
    }
    peak = Math.max(peak, process.memoryUsage.rss());
    expect(res.status).toBe(200);
    expect(peak - before).toBeLessThan(total / 4);

    expect(await s.storage.head(key)).toEqual({ size: total, contentType: 'video/mp4' });
    const expected = createHash('sha256');
    for (let i = 0; i < chunks; i += 1) expected.update(chunk);
    const onDisk = createHash('sha256');
    for await (const part of createReadStream(path.join(s.storage.dir, 'objects', ...key.split('/')))) onDisk.update(part as Buffer);
    expect(onDisk.digest('hex')).toBe(expected.digest('hex'));
  });
});

describe('embedded storage driver (options and URLs)', () => {
  it('refuses a secret shorter than 16 bytes', () => {
    expect(() => createEmbeddedStorage({ dir: tmpdir(), publicBaseUrl: 'http://x', secret: 'short', maxBytes: 1 })).toThrow(/secret/);
  });

  it('builds URLs under the publicBaseUrl path prefix and recognises them', async () => {
    const storage = createEmbeddedStorage({ dir: tmpdir(), publicBaseUrl: 'https://api.example.com/ecg/', secret: SECRET, maxBytes: 10 });
    const url = await storage.presignDownload('videos/a b.mp4', { expiresIn: 60 });
    expect(url.startsWith('https://api.example.com/ecg/storage/videos/a%20b.mp4?expires=')).toBe(true);
    expect(storage.keyFromUrl(url)).toBe('videos/a b.mp4');
    expect(storage.keyFromUrl('https://api.example.com/storage/videos/a%20b.mp4')).toBeNull();
  });
});
