/**
 * Multipart uploads through the SDK in Node, against the real app whose storage is the S3 driver on
 * s3rver: an upload cut off mid-way by a lost connection resumes, after a "restart" (a new client),
 * from the parts storage holds, and the stored object is the file byte for byte.
 */
import { createHash, randomBytes } from 'node:crypto';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createBackendClient } from '../../sdk/src/index.js';
import { jsonFileStore } from '../../sdk/src/multipart.js';
import { type Local, startLocalS3 } from '../storage/local-s3.js';
import { createTestApp, PUBLIC_BASE, type TestApp } from '../support/app.js';

const MiB = 1024 ** 2;
let s3: Local;
let t: TestApp;
let dir: string;

beforeAll(async () => {
  s3 = await startLocalS3();
  t = await createTestApp({}, undefined, { storage: s3.storage });
  dir = await mkdtemp(path.join(tmpdir(), 'ecg-sdk-multipart-'));
}, 60_000);
afterAll(async () => {
  await t?.close();
  await s3?.close();
  await rm(dir, { recursive: true, force: true });
});

interface Wire {
  partPuts: number;
  multipartCalls: string[];
  /** Part PUTs after which the connection to storage "drops" (the fetch rejects). */
  failAfter: number;
}

/** A client whose backend calls go to the in-process app and whose storage PUTs go to s3rver, counted. */
function client(wire: Wire) {
  return createBackendClient({
    baseUrl: PUBLIC_BASE,
    retry: false,
    fetch: async (req) => {
      const url = new URL(req.url);
      if (url.origin === PUBLIC_BASE) {
        if (url.pathname.includes('/multipart/')) wire.multipartCalls.push(url.pathname.split('/').at(-1)!);
        return t.app.fetch(req);
      }
      if (req.method === 'PUT' && url.searchParams.has('uploadId')) {
        if (wire.partPuts >= wire.failAfter) throw new TypeError('fetch failed: connection reset');
        wire.partPuts += 1;
      }
      return fetch(req);
    },
  });
}

const sha256 = (bytes: Uint8Array) => createHash('sha256').update(bytes).digest('hex');

async function stored(key: string): Promise<Uint8Array> {
  const res = await fetch(await s3.storage.presignDownload(key, { expiresIn: 60 }));
  return new Uint8Array(await res.arrayBuffer());
}

describe('multipart uploads from Node against the S3 driver', () => {
  it('an upload cut off after two parts resumes after a restart without re-sending them, and stores the exact file', async () => {
    const bytes = randomBytes(4 * 5 * MiB + 777); // five parts of 5 MiB, the last one short
    const file = new File([bytes], 'lecture.mp4', { type: 'video/mp4', lastModified: 1_700_000_000_000 });
    const resume = jsonFileStore(path.join(dir, 'uploads.json'));
    const options = { partSize: 5 * MiB, concurrency: 1, retries: 0, resume };

    const first: Wire = { partPuts: 0, multipartCalls: [], failAfter: 2 };
    await expect(client(first).uploadVideo(file, { multipart: options })).rejects.toThrow();
    expect(first.partPuts).toBe(2);
    const remembered = JSON.parse(await readFile(path.join(dir, 'uploads.json'), 'utf8')) as Record<string, { fileKey: string }>;
    expect(Object.values(remembered)).toHaveLength(1);

    const sent: number[] = [];
    const progress: number[] = [];
    const second: Wire = { partPuts: 0, multipartCalls: [], failAfter: Infinity };
    const key = await client(second).uploadVideo(file, { multipart: { ...options, onPart: (n) => sent.push(n) }, onProgress: (p) => progress.push(p.loaded) });
    expect(sent).toEqual([3, 4, 5]);
    expect(second.multipartCalls).not.toContain('create');
    expect(second.multipartCalls[0]).toBe('list-parts');
    expect(progress[0]).toBe(2 * 5 * MiB); // resumed at the stored bytes
    expect(progress.at(-1)).toBe(bytes.length);
    expect(key).toBe(Object.values(remembered)[0]!.fileKey);
    expect(sha256(await stored(key))).toBe(sha256(bytes));
    expect(await resume.get(Object.keys(remembered)[0]!)).toBeUndefined();
  });

  it('a part whose connection drops is retried, and a file under the threshold still goes in one request', async () => {
    const bytes = randomBytes(3 * 5 * MiB + 1);
    const wire: Wire = { partPuts: 0, multipartCalls: [], failAfter: Infinity };
    let failedOnce = false;
    const ecg = createBackendClient({
      baseUrl: PUBLIC_BASE,
      retry: false,
      fetch: async (req) => {
        const url = new URL(req.url);
        if (url.origin === PUBLIC_BASE) return t.app.fetch(req);
        if (url.searchParams.get('partNumber') === '2' && !failedOnce) {
          failedOnce = true;
          throw new TypeError('fetch failed: connection reset');
        }
        if (url.searchParams.has('uploadId')) wire.partPuts += 1;
        return fetch(req);
      },
    });
    const key = await ecg.uploadVideo(new Blob([bytes], { type: 'video/mp4' }), { filename: 'a.mp4', multipart: { partSize: 5 * MiB, resume: false } });
    expect(failedOnce).toBe(true);
    expect(wire.partPuts).toBe(4);
    expect(sha256(await stored(key))).toBe(sha256(bytes));

    const small = randomBytes(1000);
    const single = await ecg.uploadVideo(new Blob([small], { type: 'video/mp4' }), { filename: 'b.mp4' });
    expect(wire.partPuts).toBe(4);
    expect(sha256(await stored(single))).toBe(sha256(small));
  });

  it('an aborted upload is released at the server and forgotten locally', async () => {
    const bytes = randomBytes(2 * 5 * MiB + 5);
    const resume = jsonFileStore(path.join(dir, 'aborted.json'));
    const controller = new AbortController();
    const wire: Wire = { partPuts: 0, multipartCalls: [], failAfter: Infinity };
    const ecg = client(wire);
    const pending = ecg.uploadVideo(new File([bytes], 'x.mp4', { type: 'video/mp4', lastModified: 1 }), {
      multipart: { partSize: 5 * MiB, concurrency: 1, resume, onPart: () => controller.abort() },
      signal: controller.signal,
    });
    await expect(pending).rejects.toMatchObject({ name: 'AbortError' });
    expect(wire.multipartCalls).toContain('abort');
    expect(await resume.get(Object.keys(JSON.parse(await readFile(path.join(dir, 'aborted.json'), 'utf8')) as object)[0] ?? 'none')).toBeUndefined();
    expect(await s3.storage.multipart.list()).toEqual([]);
  });
});

describe('generate-url with upload_method post', () => {
  it('answers a form upload with a content-length-range policy on S3, and the frontend\'s default stays a PUT', async () => {
    const post = (body: object) => t.fetch(`${PUBLIC_BASE}/api/upload-video/generate-url`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
    const form = (await (await post({ filename: 'a.mp4', content_type: 'video/mp4', upload_method: 'post' })).json()) as { method: string; fields: Record<string, string>; url: string; file_key: string };
    expect(form.method).toBe('POST');
    const policy = JSON.parse(Buffer.from(form.fields.Policy!, 'base64').toString('utf8')) as { conditions: unknown[] };
    expect(policy.conditions).toContainEqual(['content-length-range', 1, t.config.storage.maxUploadBytes]);
    const put = (await (await post({ filename: 'a.mp4', content_type: 'video/mp4' })).json()) as { method: string; fields?: unknown };
    expect(put.method).toBe('PUT');
    expect(put.fields).toBeUndefined();
  });
});

describe('single-request uploads from the SDK to S3', () => {
  /** A client whose storage requests go to s3rver, recording each one's method and content type. */
  function recording(seen: { method: string; type: string | null }[]) {
    return createBackendClient({
      baseUrl: PUBLIC_BASE,
      retry: false,
      fetch: async (req) => {
        if (new URL(req.url).origin === PUBLIC_BASE) return t.app.fetch(req);
        seen.push({ method: req.method, type: req.headers.get('content-type') });
        return fetch(req);
      },
    });
  }

  it('send the file as a form POST under the size policy, from a Blob and from a stream of known size, with progress to the last byte', async () => {
    const seen: { method: string; type: string | null }[] = [];
    const ecg = recording(seen);
    const bytes = randomBytes(3 * MiB + 11);
    const progress: number[] = [];
    const fromBlob = await ecg.uploadVideo(new Blob([bytes], { type: 'video/mp4' }), { filename: 'talk "one".mp4', onProgress: (p) => progress.push(p.loaded) });
    expect(sha256(await stored(fromBlob))).toBe(sha256(bytes));
    expect(progress.at(-1)).toBe(bytes.length);
    expect(Math.max(...progress)).toBe(bytes.length);

    const chunks = (async function* () {
      for (let i = 0; i < bytes.length; i += 64 * 1024) yield await Promise.resolve(bytes.subarray(i, i + 64 * 1024));
    })();
    const fromStream = await ecg.uploadVideo(chunks, { filename: 'talk.mp4', contentType: 'video/mp4', size: bytes.length });
    expect(sha256(await stored(fromStream))).toBe(sha256(bytes));
    expect(seen.map((s) => s.method)).toEqual(['POST', 'POST']);
    expect(seen.every((s) => s.type?.startsWith('multipart/form-data; boundary='))).toBe(true);
    expect((await s3.storage.head(fromStream))?.contentType).toBe('video/mp4');
  });

  it("use a PUT when asked to, as the frontend's own code does", async () => {
    const seen: { method: string; type: string | null }[] = [];
    const bytes = randomBytes(1000);
    const key = await recording(seen).uploadVideo(new Blob([bytes], { type: 'video/mp4' }), { filename: 'c.mp4', uploadMethod: 'put' });
    expect(seen).toEqual([{ method: 'PUT', type: 'video/mp4' }]);
    expect(sha256(await stored(key))).toBe(sha256(bytes));
  });
});
