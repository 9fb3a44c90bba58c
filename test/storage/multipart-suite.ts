/** The multipart behaviour both storage drivers share (run from suite.ts for each driver). */
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { MultipartUpload, Storage } from '../../server/storage/index.js';
import { checkCompletion, MIN_PART_SIZE, planMultipart, sweepMultipartUploads } from '../../server/storage/index.js';
import type { StorageHarness } from './suite.js';
import { uniqueKey } from './suite.js';

/** PUTs `bytes`' slice for each part number through freshly presigned part URLs; returns the statuses. */
export async function putParts(storage: Storage, upload: MultipartUpload, bytes: Uint8Array, partNumbers: number[]): Promise<number[]> {
  const urls = await storage.multipart.presignParts(upload, partNumbers, 600);
  const statuses: number[] = [];
  for (const part of urls) {
    const start = (part.partNumber - 1) * upload.partSize;
    const res = await fetch(part.url, { method: part.method, body: bytes.slice(start, start + part.size) });
    await res.arrayBuffer();
    statuses.push(res.status);
  }
  return statuses;
}

export function describeMultipartContract(name: string, setup: () => Promise<StorageHarness>): void {
  describe(`${name} storage driver (multipart)`, () => {
    let h: StorageHarness;
    // Three parts: two of the minimum size and a short last one.
    const bytes = randomBytes(2 * MIN_PART_SIZE + 1234);
    const plan = planMultipart('video/mp4', bytes.length, MIN_PART_SIZE);

    beforeAll(async () => {
      h = await setup();
    });
    afterAll(async () => {
      await h?.teardown();
    });

    it('parts uploaded to presigned URLs are listed with their sizes and complete into the exact file', async () => {
      const key = uniqueKey('multi.mp4');
      const upload = await h.storage.multipart.create(key, plan);
      expect(upload.partCount).toBe(3);
      expect(await putParts(h.storage, upload, bytes, [3, 1, 2])).toEqual([200, 200, 200]);
      const stored = await h.storage.multipart.listParts(upload);
      expect(stored.map((p) => [p.partNumber, p.size])).toEqual([[1, MIN_PART_SIZE], [2, MIN_PART_SIZE], [3, 1234]]);
      const info = await h.storage.multipart.complete(upload, checkCompletion(upload, stored));
      expect(info).toEqual({ size: bytes.length, contentType: 'video/mp4' });
      expect(await h.storage.head(key)).toEqual({ size: bytes.length, contentType: 'video/mp4' });
      const res = await fetch(await h.storage.presignDownload(key, { expiresIn: 60 }));
      expect(Buffer.from(await res.arrayBuffer()).equals(bytes)).toBe(true);
      expect(await h.storage.multipart.get(key, upload.uploadId)).toBeNull();
    });

    it('an upload with a missing part cannot be completed, and the answer names the missing part', async () => {
      const upload = await h.storage.multipart.create(uniqueKey(), plan);
      await putParts(h.storage, upload, bytes, [1, 3]);
      const stored = await h.storage.multipart.listParts(upload);
      expect(stored.map((p) => p.partNumber)).toEqual([1, 3]);
      expect(() => checkCompletion(upload, stored)).toThrow(expect.objectContaining({ code: 'CONFLICT', details: { missing_parts: [2] } }));
      await h.storage.multipart.abort(upload);
    });

    it('get() finds an upload by key and id, and not under another key', async () => {
      const key = uniqueKey();
      const upload = await h.storage.multipart.create(key, plan);
      expect(await h.storage.multipart.get(key, upload.uploadId)).toMatchObject({ key, uploadId: upload.uploadId, size: plan.size, partSize: plan.partSize });
      expect(await h.storage.multipart.get(uniqueKey(), upload.uploadId)).toBeNull();
      expect(await h.storage.multipart.get(key, 'no-such-upload')).toBeNull();
      await h.storage.multipart.abort(upload);
    });

    it('abort releases the upload: it is gone, its parts are not listed and no object appears', async () => {
      const key = uniqueKey();
      const upload = await h.storage.multipart.create(key, plan);
      await putParts(h.storage, upload, bytes, [1]);
      await h.storage.multipart.abort(upload);
      expect(await h.storage.multipart.get(key, upload.uploadId)).toBeNull();
      expect((await h.storage.multipart.list()).map((u) => u.uploadId)).not.toContain(upload.uploadId);
      expect(await h.storage.head(key)).toBeNull();
    });

    it('a part longer than planned never completes: refused at upload or at completion', async () => {
      const upload = await h.storage.multipart.create(uniqueKey(), planMultipart('video/mp4', MIN_PART_SIZE + 10, MIN_PART_SIZE));
      const [last] = await h.storage.multipart.presignParts(upload, [2], 600);
      const res = await fetch(last!.url, { method: 'PUT', body: randomBytes(500) });
      await res.arrayBuffer();
      if (res.status === 200) {
        await putParts(h.storage, upload, randomBytes(MIN_PART_SIZE + 10), [1]);
        const stored = await h.storage.multipart.listParts(upload);
        expect(() => checkCompletion(upload, stored)).toThrow(expect.objectContaining({ code: 'PAYLOAD_TOO_LARGE' }));
      } else {
        expect(res.status).toBe(413);
        expect((await h.storage.multipart.listParts(upload)).map((p) => p.partNumber)).toEqual([]);
      }
      await h.storage.multipart.abort(upload);
    });

    it('presigning a part number the plan does not have is refused', async () => {
      const upload = await h.storage.multipart.create(uniqueKey(), plan);
      await expect(h.storage.multipart.presignParts(upload, [0], 60)).rejects.toMatchObject({ code: 'VALIDATION_ERROR' });
      await expect(h.storage.multipart.presignParts(upload, [4], 60)).rejects.toMatchObject({ code: 'VALIDATION_ERROR' });
      await h.storage.multipart.abort(upload);
    });

    it('the sweeper aborts uploads older than the maximum age and keeps younger ones', async () => {
      const old = await h.storage.multipart.create(uniqueKey('old.mp4'), plan);
      const young = await h.storage.multipart.create(uniqueKey('young.mp4'), plan);
      // Seen from two hours on, with a one-hour maximum age, both are old; seen from now, neither is.
      expect(await sweepMultipartUploads(h.storage, 3600_000, Date.now())).toBe(0);
      await h.storage.multipart.abort(young);
      expect(await sweepMultipartUploads(h.storage, 3600_000, Date.now() + 2 * 3600_000)).toBeGreaterThanOrEqual(1);
      expect(await h.storage.multipart.get(old.key, old.uploadId)).toBeNull();
    });
  });
}
