/** uploadVideo: the generate-url call, then the PUT to storage with the signed headers and progress. */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { createBackendClient, EcgApiError, type UploadProgress } from '../../sdk/src/index.js';
import { bytesOf, fakeBackend, KEY, type Put } from './fake-backend.js';
import { appFetch, listen, type Served } from './helpers.js';

let served: Served | undefined;
afterEach(async () => {
  await served?.close();
  served = undefined;
  vi.unstubAllGlobals();
});

describe('uploadVideo', () => {
  it('PUTs the bytes with the signed headers, never Authorization, reports progress and returns the key', async () => {
    const { app, seen } = fakeBackend({ extraSignedHeaders: { 'x-amz-meta-owner': 'anonymous', Authorization: 'leak' } });
    const ecg = createBackendClient({ baseUrl: 'http://backend.test/', token: 'secret-token', fetch: appFetch(app) });
    const data = bytesOf(300_000);
    const progress: UploadProgress[] = [];
    const key = await ecg.uploadVideo(data, { filename: 'clip.mp4', contentType: 'video/mp4', onProgress: (p) => progress.push(p) });

    expect(key).toBe(KEY);
    expect(seen.generate).toHaveLength(1);
    expect(seen.generate[0]?.auth).toBe('Bearer secret-token');
    expect(seen.generate[0]?.body).toMatchObject({ filename: 'clip.mp4', content_type: 'video/mp4', file_size: data.byteLength });
    expect(seen.puts).toHaveLength(1);
    const put = seen.puts[0] as Put;
    expect(put.headers.get('content-type')).toBe('video/mp4');
    expect(put.headers.get('x-amz-meta-owner')).toBe('anonymous');
    expect(put.headers.get('authorization')).toBeNull();
    expect(Buffer.from(put.bytes).equals(Buffer.from(data))).toBe(true);
    expect(progress[0]).toEqual({ loaded: 0, total: data.byteLength, percent: 0 });
    expect(progress.at(-1)).toEqual({ loaded: data.byteLength, total: data.byteLength, percent: 100 });
    for (let i = 1; i < progress.length; i++) expect(progress[i]!.loaded).toBeGreaterThanOrEqual(progress[i - 1]!.loaded);
  });

  it.each([201, 204, 403, 500])('fails when storage answers %i (only 200 counts)', async (status) => {
    const { app } = fakeBackend({ putStatus: status });
    const ecg = createBackendClient({ baseUrl: 'http://backend.test', fetch: appFetch(app) });
    const err = await ecg.uploadVideo(bytesOf(10), { filename: 'clip.mp4' }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(EcgApiError);
    expect(err).toMatchObject({ status, code: 'UPLOAD_FAILED' });
  });

  it('takes the name and type of a File, and lets the backend infer a missing type', async () => {
    const { app, seen } = fakeBackend();
    const ecg = createBackendClient({ baseUrl: 'http://backend.test', fetch: appFetch(app) });
    await ecg.uploadVideo(new File([bytesOf(5)], 'talk.webm', { type: 'video/webm' }));
    expect(seen.generate[0]?.body).toMatchObject({ filename: 'talk.webm', content_type: 'video/webm', file_size: 5 });
    await ecg.uploadVideo(new Blob([bytesOf(5)]), { filename: 'x.mp4' });
    expect(seen.generate[1]?.body).not.toHaveProperty('content_type');
    await expect(ecg.uploadVideo(new Blob([bytesOf(5)]))).rejects.toThrow(/filename/);
  });

  it('streams a file path and a Node stream over real sockets with a Content-Length (storage needs one)', async () => {
    const { app, seen } = fakeBackend();
    served = await listen(app);
    const ecg = createBackendClient({ baseUrl: served.url, fetch: (req) => fetch(req) });
    const dir = await mkdtemp(join(tmpdir(), 'ecg-sdk-'));
    try {
      const data = bytesOf(1_000_000);
      const file = join(dir, 'lecture.mp4');
      await writeFile(file, data);
      const progress: UploadProgress[] = [];
      await ecg.uploadVideo(file, { onProgress: (p) => progress.push(p) });
      expect(seen.generate[0]?.body).toMatchObject({ filename: 'lecture.mp4', file_size: data.byteLength });
      expect(seen.puts[0]?.headers.get('content-length')).toBe(String(data.byteLength));
      expect(seen.puts[0]?.headers.get('transfer-encoding')).toBeNull();
      expect(Buffer.from(seen.puts[0]!.bytes).equals(Buffer.from(data))).toBe(true);
      expect(progress.at(-1)?.percent).toBe(100);

      await ecg.uploadVideo(Readable.from([Buffer.from(data.subarray(0, 1000)), Buffer.from(data.subarray(1000, 5000))]), {
        filename: 'stream.mp4',
        size: 5000,
      });
      expect(seen.puts[1]?.headers.get('content-length')).toBe('5000');
      expect(Buffer.from(seen.puts[1]!.bytes).equals(Buffer.from(data.subarray(0, 5000)))).toBe(true);

      // Without a size, a stream is read into memory first.
      await ecg.uploadVideo(Readable.from([Buffer.from('abc'), Buffer.from('def')]), { filename: 'small.mp4' });
      expect(Buffer.from(seen.puts[2]!.bytes).toString()).toBe('abcdef');
      expect(seen.generate[2]?.body).toMatchObject({ file_size: 6 });
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('uses XMLHttpRequest in browsers (no custom fetch): progress events, no Authorization', async () => {
    const { app, seen } = fakeBackend({ storageOrigin: 'https://bucket.storage.test' });
    served = await listen(app);
    const sent: { method: string; url: string; headers: Record<string, string>; size: number }[] = [];
    class FakeXhr {
      status = 0;
      upload: { onprogress: ((e: { loaded: number; total: number }) => void) | null } = { onprogress: null };
      onload: (() => void) | null = null;
      onerror: (() => void) | null = null;
      onabort: (() => void) | null = null;
      private req = { method: '', url: '', headers: {} as Record<string, string>, size: 0 };
      open(method: string, url: string) {
        this.req.method = method;
        this.req.url = url;
      }
      setRequestHeader(k: string, v: string) {
        this.req.headers[k.toLowerCase()] = v;
      }
      send(body: Blob) {
        this.req.size = body.size;
        sent.push(this.req);
        setTimeout(() => {
          this.upload.onprogress?.({ loaded: body.size / 2, total: body.size });
          setTimeout(() => {
            this.upload.onprogress?.({ loaded: body.size, total: body.size });
            this.status = 200;
            this.onload?.();
          }, 60);
        }, 5);
      }
      abort() {
        this.onabort?.();
      }
    }
    vi.stubGlobal('XMLHttpRequest', FakeXhr);
    const ecg = createBackendClient({ baseUrl: served.url, token: 't' });
    const progress: number[] = [];
    const key = await ecg.uploadVideo(new Blob([bytesOf(1000)], { type: 'video/mp4' }), {
      filename: 'b.mp4',
      onProgress: (p) => progress.push(p.percent),
    });
    expect(key).toBe(KEY);
    expect(seen.generate[0]?.auth).toBe('Bearer t');
    expect(seen.puts).toHaveLength(0);
    expect(sent).toEqual([
      { method: 'PUT', url: `https://bucket.storage.test/storage/${KEY}?X-Amz-Signature=abc`, headers: { 'content-type': 'video/mp4' }, size: 1000 },
    ]);
    expect(progress).toEqual([0, 50, 100]);
  });
});
