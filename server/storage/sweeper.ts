/**
 * Deletes uploads no job used (docs/storage.md, docs/limits.md). In open mode anyone may upload, and
 * an upload nobody asks to process would otherwise stay forever. Every so often, the objects under
 * `videos/` last written longer than `UPLOAD_RETENTION_HOURS` ago are listed (a folder walk on the
 * embedded storage, ListObjectsV2 on S3), and those no job names as its file are deleted. A job
 * asked for a file while it is being deleted finds no file (FILE_NOT_FOUND), as after any deletion.
 * A job whose video retention deleted (`video_deleted_at`) no longer needs its file.
 */
import { and, inArray, isNull } from 'drizzle-orm';
import { jobs } from '../../drizzle/schema.js';
import type { Database } from '../db/client.js';
import { loggableError } from '../errors.js';
import type { Logger } from '../logger.js';
import type { Storage } from './types.js';

const BATCH = 500;

export interface UploadSweeperOptions {
  storage: Storage;
  db: Database;
  logger: Logger;
  /** Uploads older than this and used by no job are deleted. */
  retentionMs: number;
  /** Between two sweeps; by default a quarter of the retention, between a minute and an hour. */
  intervalMs?: number;
}

export function createUploadSweeper({ storage, db, logger, retentionMs, intervalMs }: UploadSweeperOptions) {
  const every = intervalMs ?? Math.min(3_600_000, Math.max(60_000, Math.floor(retentionMs / 4)));
  let timer: ReturnType<typeof setInterval> | undefined;
  let running: Promise<number> | undefined;

  async function deleteUnused(keys: string[]): Promise<number> {
    const used = new Set((await db.select({ key: jobs.fileKey }).from(jobs).where(and(inArray(jobs.fileKey, keys), isNull(jobs.videoDeletedAt)))).map((r) => r.key));
    let n = 0;
    for (const key of keys) {
      if (used.has(key)) continue;
      await storage.delete(key);
      n += 1;
    }
    return n;
  }

  /** One sweep; returns how many uploads it deleted. */
  async function sweep(now = Date.now()): Promise<number> {
    let deleted = 0;
    let batch: string[] = [];
    for await (const o of storage.list('videos/')) {
      if (now - o.lastModified.getTime() < retentionMs) continue;
      batch.push(o.key);
      if (batch.length >= BATCH) {
        deleted += await deleteUnused(batch);
        batch = [];
      }
    }
    if (batch.length > 0) deleted += await deleteUnused(batch);
    if (deleted > 0) logger.info('deleted unused uploads', { count: deleted, older_than_hours: retentionMs / 3_600_000 });
    return deleted;
  }

  const tick = () => {
    if (running) return;
    running = sweep()
      .catch((err: unknown) => {
        logger.error('upload sweep failed', { error: loggableError(err) });
        return 0;
      })
      .finally(() => (running = undefined));
  };

  return {
    sweep,
    /** Sweeps now and then every interval; does nothing when the retention is 0 (keep forever). */
    start(): void {
      if (retentionMs <= 0 || timer) return;
      tick();
      timer = setInterval(tick, every);
      timer.unref();
    },
    async stop(): Promise<void> {
      clearInterval(timer);
      timer = undefined;
      await running;
    },
  };
}
