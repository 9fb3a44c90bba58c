/**
 * What the service leaves on disk under DATA_DIR, checked on the backend as a process: another
 * local user must not be able to read uploaded videos or the storage secret.
 */
import { createHash } from 'node:crypto';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runMigrations } from '../../server/db/migrate.js';
import { type ScratchDatabase,scratchDatabase } from '../support/db.js';
import { type Proc,startBackend } from '../support/process.js';

let db: ScratchDatabase;
let parent: string;
let dataDir: string;
let parentMode: number;
let backend: Proc;

beforeAll(async () => {
  db = await scratchDatabase('ecg_files');
  await runMigrations(db.url);
  parent = await fs.mkdtemp(path.join(os.tmpdir(), 'ecg-files-'));
  await fs.chmod(parent, 0o755);
  parentMode = (await fs.stat(parent)).mode & 0o7777;
  dataDir = path.join(parent, 'data');
  backend = await startBackend({ DATABASE_URL: db.url, DATA_DIR: dataDir, MODEL_SERVER_URL: 'http://127.0.0.1:9', RATE_LIMIT_PER_MINUTE: '0' });
}, 120_000);
afterAll(async () => {
  await backend?.kill('SIGKILL');
  await db?.drop();
  await fs.rm(parent, { recursive: true, force: true });
}, 60_000);

const mode = async (p: string) => (await fs.stat(p)).mode & 0o777;

describe('files under DATA_DIR', () => {
  it('creates the data directory 0700, the storage secret 0600, and leaves the parent directory as it was', async () => {
    expect(await mode(dataDir)).toBe(0o700);
    expect(await mode(path.join(dataDir, 'storage.secret'))).toBe(0o600);
    expect(await mode(path.join(dataDir, 'storage'))).toBe(0o700);
    expect((await fs.stat(parent)).mode & 0o7777).toBe(parentMode);
  });

  it('stores an uploaded video and its metadata 0600, in directories made 0700', async () => {
    const res = await fetch(`${backend.url}/api/upload-video/generate-url`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ filename: 'private.mp4', content_type: 'video/mp4' }) });
    const up = (await res.json()) as { upload_url: string; file_key: string; headers: Record<string, string> };
    const video = new Uint8Array(2048).fill(3);
    expect((await fetch(up.upload_url, { method: 'PUT', headers: up.headers, body: video })).status).toBe(200);

    const object = path.join(dataDir, 'storage', 'objects', ...up.file_key.split('/'));
    const meta = path.join(dataDir, 'storage', 'meta', ...`${up.file_key}.json`.split('/'));
    expect(createHash('sha256').update(await fs.readFile(object)).digest('hex')).toBe(createHash('sha256').update(video).digest('hex'));
    expect(await mode(object)).toBe(0o600);
    expect(await mode(meta)).toBe(0o600);
    for (let dir = path.dirname(object); dir !== path.join(dataDir, 'storage'); dir = path.dirname(dir)) {
      expect(await mode(dir)).toBe(0o700);
    }
  });

  it('narrows a data directory left 0755 by an earlier version to 0700 on start', async () => {
    const old = path.join(parent, 'old');
    await fs.mkdir(path.join(old, 'storage'), { recursive: true, mode: 0o755 });
    await fs.chmod(old, 0o755);
    await fs.chmod(path.join(old, 'storage'), 0o755);
    const b = await startBackend({ DATABASE_URL: db.url, DATA_DIR: old, MODEL_SERVER_URL: 'http://127.0.0.1:9' });
    try {
      expect(await mode(old)).toBe(0o700);
      expect(await mode(path.join(old, 'storage'))).toBe(0o700);
    } finally {
      await b.kill('SIGKILL');
    }
  }, 60_000);
});
