import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Storage } from '../../server/storage/index.js';
import { describeMultipartContract } from './multipart-suite.js';

/** What a driver's test file gives the shared suite. */
export interface StorageHarness {
  storage: Storage;
  /** URLs that look plausible but do not point into this storage. */
  foreignUrls: string[];
  teardown(): Promise<void>;
}

let counter = 0;
/** A fresh key shaped like the backend's upload keys. */
export function uniqueKey(filename = 'clip.mp4'): string {
  counter += 1;
  return `videos/anonymous/20250101_120000_${randomBytes(4).toString('hex')}${counter}_${filename}`;
}

/** PUT `body` through a fresh presigned upload URL, as the frontend does. */
export async function uploadThrough(storage: Storage, key: string, body: Uint8Array, contentType = 'video/mp4'): Promise<Response> {
  const up = await storage.presignUpload(key, { contentType, maxBytes: 10 * 1024 * 1024, expiresIn: 600 });
  return fetch(up.url, { method: up.method, headers: up.headers, body: new Uint8Array(body) });
}

/**
 * The behaviour every storage driver must share. `setup` runs once (beforeAll); the harness is torn down afterwards.
 */
export function describeStorageContract(name: string, setup: () => Promise<StorageHarness>): void {
  describeMultipartContract(name, setup);
  describe(`${name} storage driver (shared contract)`, () => {
    let h: StorageHarness;
    const bytes = randomBytes(64 * 1024 + 17);

    beforeAll(async () => {
      h = await setup();
    });
    afterAll(async () => {
      await h?.teardown();
    });

    it('ready() resolves when the storage is reachable', async () => {
      await expect(h.storage.ready()).resolves.toBeUndefined();
    });

    it('a presigned upload is a PUT that carries the requested Content-Type among its headers', async () => {
      const up = await h.storage.presignUpload(uniqueKey(), { contentType: 'video/webm', maxBytes: 1000, expiresIn: 120 });
      expect(up.method).toBe('PUT');
      expect(up.headers['Content-Type']).toBe('video/webm');
      expect(up.expiresIn).toBe(120);
      expect(new URL(up.url).protocol).toMatch(/^https?:$/);
    });

    it('a PUT to the presigned URL answers 200 and head() then reports the size and content type', async () => {
      const key = uniqueKey();
      const res = await uploadThrough(h.storage, key, bytes, 'video/mp4');
      expect(res.status).toBe(200);
      await res.arrayBuffer();
      expect(await h.storage.head(key)).toEqual({ size: bytes.length, contentType: 'video/mp4' });
    });

    it('a presigned GET returns exactly the uploaded bytes with the stored content type', async () => {
      const key = uniqueKey();
      expect((await uploadThrough(h.storage, key, bytes, 'audio/mpeg')).status).toBe(200);
      const res = await fetch(await h.storage.presignDownload(key, { expiresIn: 60 }));
      expect(res.status).toBe(200);
      expect(res.headers.get('content-type')).toBe('audio/mpeg');
      expect(Buffer.from(await res.arrayBuffer()).equals(bytes)).toBe(true);
    });

    it('a presigned GET with Range bytes=a-b answers 206 with that slice and a Content-Range', async () => {
      const key = uniqueKey();
      expect((await uploadThrough(h.storage, key, bytes)).status).toBe(200);
      const url = await h.storage.presignDownload(key, { expiresIn: 60 });
      const res = await fetch(url, { headers: { Range: 'bytes=100-1099' } });
      expect(res.status).toBe(206);
      expect(res.headers.get('content-range')).toBe(`bytes 100-1099/${bytes.length}`);
      expect(Buffer.from(await res.arrayBuffer()).equals(bytes.subarray(100, 1100))).toBe(true);
    });

    it('keys with spaces and non-ASCII characters survive the round trip', async () => {
      const key = uniqueKey('my clip (final) é 한국어.mp4');
      expect((await uploadThrough(h.storage, key, bytes.subarray(0, 1000))).status).toBe(200);
      expect((await h.storage.head(key))?.size).toBe(1000);
      const res = await fetch(await h.storage.presignDownload(key, { expiresIn: 60 }));
      expect(Buffer.from(await res.arrayBuffer()).equals(bytes.subarray(0, 1000))).toBe(true);
    });

    it('list() finds an upload under its folder with a recent time, and delete() removes it (twice is no error)', async () => {
      const key = uniqueKey('listed.mp4');
      expect((await uploadThrough(h.storage, key, bytes)).status).toBe(200);
      const found: Array<{ key: string; lastModified: Date }> = [];
      for await (const o of h.storage.list('videos/anonymous/')) found.push(o);
      const mine = found.find((o) => o.key === key);
      expect(mine).toBeDefined();
      expect(Math.abs(Date.now() - mine!.lastModified.getTime())).toBeLessThan(10 * 60_000);
      await h.storage.delete(key);
      await h.storage.delete(key);
      expect(await h.storage.head(key)).toBeNull();
    });

    it('head() of a key that was never uploaded is null', async () => {
      expect(await h.storage.head(uniqueKey('never-uploaded.mp4'))).toBeNull();
    });

    it('keyFromUrl() gives the key back for its own upload and download URLs', async () => {
      const key = uniqueKey('own url é.mp4');
      const up = await h.storage.presignUpload(key, { contentType: 'video/mp4', maxBytes: 10, expiresIn: 60 });
      expect(h.storage.keyFromUrl(up.url)).toBe(key);
      expect(h.storage.keyFromUrl(await h.storage.presignDownload(key, { expiresIn: 60 }))).toBe(key);
    });

    it('keyFromUrl() is null for foreign, malformed and credential-carrying URLs', async () => {
      const own = new URL(await h.storage.presignDownload(uniqueKey(), { expiresIn: 60 }));
      const withCredentials = new URL(own);
      withCredentials.username = 'user';
      const candidates = [
        ...h.foreignUrls,
        'http://169.254.169.254/latest/meta-data/iam/security-credentials/',
        'file:///etc/passwd',
        'not a url',
        '',
        withCredentials.toString(),
      ];
      for (const url of candidates) expect(h.storage.keyFromUrl(url), url).toBeNull();
    });

    it('presigning refuses unsafe keys (traversal, absolute, backslash, NUL, empty segments)', async () => {
      for (const key of ['../etc/passwd', 'videos/../../x', '/etc/passwd', 'a\\b', 'a\u0000b', 'a//b', '', './a', 'C:/x']) {
        await expect(h.storage.presignUpload(key, { contentType: 'video/mp4', maxBytes: 10, expiresIn: 60 }), JSON.stringify(key)).rejects.toThrow();
        await expect(h.storage.presignDownload(key, { expiresIn: 60 }), JSON.stringify(key)).rejects.toThrow();
      }
    });
  });
}
