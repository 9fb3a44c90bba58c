import { randomBytes } from 'node:crypto';
import { readdir, stat } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { loadConfig } from '../../server/config.js';
import { MIN_PART_SIZE, planMultipart, startMultipartSweeper } from '../../server/storage/index.js';
import { putParts } from './multipart-suite.js';
import { type Served, serveEmbedded } from './serve-embedded.js';
import { uniqueKey } from './suite.js';

describe('embedded storage multipart parts', () => {
  let s: Served;
  const plan = planMultipart('video/mp4', MIN_PART_SIZE + 100, MIN_PART_SIZE);
  const bytes = randomBytes(plan.size);

  beforeAll(async () => {
    s = await serveEmbedded();
    await s.storage.ready();
  });
  afterAll(async () => {
    await s.close();
  });

  it('keeps an upload in a private folder: directories 0700, part files 0600, and answers each part with its MD5 ETag', async () => {
    const upload = await s.storage.multipart.create(uniqueKey(), plan);
    const [part] = await s.storage.multipart.presignParts(upload, [2], 60);
    const res = await fetch(part!.url, { method: 'PUT', body: bytes.subarray(MIN_PART_SIZE) });
    expect(res.status).toBe(200);
    expect(res.headers.get('etag')).toMatch(/^"[0-9a-f]{32}"$/);
    const dir = path.join(s.storage.dir, 'multipart', upload.uploadId);
    expect((await stat(dir)).mode & 0o777).toBe(0o700);
    for (const name of await readdir(dir)) expect((await stat(path.join(dir, name))).mode & 0o777, name).toBe(0o600);
    await s.storage.multipart.abort(upload);
  });

  it('refuses a part URL whose signature, part number or length was edited with 403', async () => {
    const upload = await s.storage.multipart.create(uniqueKey(), plan);
    const [part] = await s.storage.multipart.presignParts(upload, [2], 60);
    for (const [name, value] of [['sig', 'AAAA'], ['part', '1'], ['max', String(MIN_PART_SIZE)], ['upload_id', 'a'.repeat(24)]] as const) {
      const url = new URL(part!.url);
      url.searchParams.set(name, value);
      const res = await fetch(url, { method: 'PUT', body: 'x' });
      expect(res.status, name).toBe(403);
      await res.arrayBuffer();
    }
    expect(await s.storage.multipart.listParts(upload)).toEqual([]);
    await s.storage.multipart.abort(upload);
  });

  it('refuses a part longer than planned with 413 and keeps nothing of it', async () => {
    const upload = await s.storage.multipart.create(uniqueKey(), plan);
    const [part] = await s.storage.multipart.presignParts(upload, [2], 60);
    const res = await fetch(part!.url, { method: 'PUT', body: randomBytes(101) });
    expect(res.status).toBe(413);
    await res.arrayBuffer();
    expect(await readdir(path.join(s.storage.dir, 'multipart', upload.uploadId))).toEqual(['upload.json']);
    await s.storage.multipart.abort(upload);
  });

  it('answers 404 FILE_NOT_FOUND to a part sent after the upload was aborted', async () => {
    const upload = await s.storage.multipart.create(uniqueKey(), plan);
    const [part] = await s.storage.multipart.presignParts(upload, [2], 60);
    await s.storage.multipart.abort(upload);
    const res = await fetch(part!.url, { method: 'PUT', body: bytes.subarray(MIN_PART_SIZE) });
    expect(res.status).toBe(404);
    expect(await res.json()).toMatchObject({ error: 'FILE_NOT_FOUND' });
  });

  it('a part sent again replaces the earlier one', async () => {
    const upload = await s.storage.multipart.create(uniqueKey(), plan);
    expect(await putParts(s.storage, upload, randomBytes(plan.size), [2])).toEqual([200]);
    expect(await putParts(s.storage, upload, bytes, [2])).toEqual([200]);
    const parts = await s.storage.multipart.listParts(upload);
    expect(parts).toHaveLength(1);
    expect(parts[0]!.size).toBe(100);
    await s.storage.multipart.abort(upload);
  });
});

describe('the multipart sweeper settings', () => {
  it('reads MULTIPART_MAX_AGE_HOURS in hours, 24 by default, and refuses a value below one hour', () => {
    expect(loadConfig({ MULTIPART_MAX_AGE_HOURS: '2' }).uploads.multipartMaxAgeMs).toBe(2 * 3600_000);
    expect(loadConfig({}).uploads.multipartMaxAgeMs).toBe(24 * 3600_000);
    expect(() => loadConfig({ MULTIPART_MAX_AGE_HOURS: '0' })).toThrow(/MULTIPART_MAX_AGE_HOURS/);
  });

  it('a started sweeper aborts old uploads at once and stops when asked', async () => {
    const s = await serveEmbedded();
    try {
      const upload = await s.storage.multipart.create(uniqueKey(), planMultipart('video/mp4', 10));
      const stop = startMultipartSweeper(s.storage, { maxAgeMs: -1, intervalMs: 60_000 });
      await vi.waitFor(async () => expect(await s.storage.multipart.get(upload.key, upload.uploadId)).toBeNull());
      stop();
    } finally {
      await s.close();
    }
  });
});
