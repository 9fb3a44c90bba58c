/**
 * Uploads in open mode (docs/limits.md, docs/storage.md): upload URLs are limited per client and
 * hour, in number and in bytes; a declared size is what the URL accepts; and uploads no job used
 * are deleted after the retention time, while those a job used are kept.
 */
import { utimes } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLogger } from '../../server/logger.js';
import { createEmbeddedStorage } from '../../server/storage/index.js';
import { createUploadSweeper } from '../../server/storage/sweeper.js';
import { createTestApp, PUBLIC_BASE, type TestApp } from '../support/app.js';

let t: TestApp;
beforeAll(async () => {
  t = await createTestApp({ UPLOAD_URLS_PER_HOUR: '0', UPLOAD_BYTES_PER_HOUR: '0' });
});
afterAll(async () => t?.close());

const generate = (app: TestApp, address: string, body: Record<string, unknown>) =>
  app.app.fetch(
    new Request(`${PUBLIC_BASE}/api/upload-video/generate-url`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ filename: 'a.mp4', ...body }) }),
    { incoming: { socket: { remoteAddress: address } } },
  );

describe('upload URL limits', () => {
  it('answers a client\'s URL beyond the hourly count with 429 and Retry-After, and other clients still get theirs', async () => {
    const a = await createTestApp({ UPLOAD_URLS_PER_HOUR: '3', UPLOAD_BYTES_PER_HOUR: '0' });
    try {
      for (let i = 0; i < 3; i += 1) expect((await generate(a, '10.1.0.1', {})).status).toBe(200);
      const over = await generate(a, '10.1.0.1', {});
      expect(over.status).toBe(429);
      expect(Number(over.headers.get('retry-after'))).toBeGreaterThan(0);
      expect(await over.json()).toMatchObject({ error: 'RATE_LIMITED' });
      expect((await generate(a, '10.1.0.2', {})).status).toBe(200);
    } finally {
      await a.close();
    }
  });

  it('charges declared sizes against the hourly bytes, and an undeclared upload the whole maximum', async () => {
    const a = await createTestApp({ UPLOAD_URLS_PER_HOUR: '0', UPLOAD_BYTES_PER_HOUR: '10000000', MAX_UPLOAD_BYTES: '4000000' });
    try {
      expect((await generate(a, '10.1.0.3', { file_size: 3_000_000 })).status).toBe(200);
      expect((await generate(a, '10.1.0.3', { file_size: 3_000_000 })).status).toBe(200);
      // 6 MB used: a whole 4 MB maximum fits, after that nothing does.
      expect((await generate(a, '10.1.0.3', {})).status).toBe(200);
      expect((await generate(a, '10.1.0.3', { file_size: 1 })).status).toBe(429);
    } finally {
      await a.close();
    }
  });

  it('gives a URL for a declared size that accepts no more than that size', async () => {
    const res = await generate(t, '10.1.0.4', { file_size: 100, content_type: 'video/mp4' });
    const { upload_url, headers, max_bytes } = (await res.json()) as { upload_url: string; headers: Record<string, string>; max_bytes: number };
    expect(max_bytes).toBe(100);
    const put = await t.app.fetch(new Request(upload_url, { method: 'PUT', headers, body: new Uint8Array(1000) }));
    expect(put.status).toBe(413);
  });
});

describe('the upload sweeper', () => {
  it('deletes uploads older than the retention that no job used, and keeps used and recent ones', async () => {
    const storage = createEmbeddedStorage({ dir: join(t.config.dataDir, 'storage'), publicBaseUrl: PUBLIC_BASE, secret: 'test-storage-secret-0123456789', maxBytes: 1 << 20 });
    const unused = await t.upload(new Uint8Array(10), 'unused.mp4');
    const used = await t.upload(new Uint8Array(10), 'used.mp4');
    const recent = await t.upload(new Uint8Array(10), 'recent.mp4');
    const { data } = await t.client.POST('/api/upload-video/request-process', { body: { fileKey: used } });
    expect(data?.job_id).toBeDefined();
    const dayAgo = new Date(Date.now() - 25 * 3_600_000);
    for (const key of [unused, used]) await utimes(join(t.config.dataDir, 'storage', 'objects', ...key.split('/')), dayAgo, dayAgo);

    const sweeper = createUploadSweeper({ storage, db: t.database.db, logger: createLogger('silent'), retentionMs: 24 * 3_600_000 });
    expect(await sweeper.sweep()).toBeGreaterThanOrEqual(1);
    expect(await storage.head(unused)).toBeNull();
    expect(await storage.head(used)).not.toBeNull();
    expect(await storage.head(recent)).not.toBeNull();
  });

  it('lists and deletes through the storage interface, and deleting twice is no error', async () => {
    const storage = createEmbeddedStorage({ dir: join(t.config.dataDir, 'storage'), publicBaseUrl: PUBLIC_BASE, secret: 'test-storage-secret-0123456789', maxBytes: 1 << 20 });
    const key = await t.upload(new Uint8Array(10), 'listed.mp4');
    const listed: string[] = [];
    for await (const o of storage.list('videos/')) listed.push(o.key);
    expect(listed).toContain(key);
    await storage.delete(key);
    await storage.delete(key);
    expect(await storage.head(key)).toBeNull();
  });
});
