/**
 * Retention (docs/my-jobs.md): with `RETENTION_DAYS` set, the videos of jobs that finished longer ago
 * are deleted from storage, and with `RETENTION_DELETE_JOBS=true` the jobs themselves. Each sweep is
 * one bounded statement of the store (`sweepRetention`: a batch, `for update skip locked`), so several
 * backend processes sweep side by side without taking the same job twice; a video deletion is
 * recorded as a `video_deleted` event. Storage is asked to delete each file after the statement, unless
 * a job with a stored video still names it; a delete that fails is logged, and the upload sweeper
 * (server/storage/sweeper.ts) removes the file later, since no job needs it any more.
 */
import { loggableError } from '../errors.js';
import type { Logger } from '../logger.js';
import type { Storage } from '../storage/types.js';
import type { JobStore } from './store.js';

const BATCH = 200;
/** Sweeps per tick while batches come back full, so a backlog drains without one tick running forever. */
const MAX_SWEEPS_PER_TICK = 20;

export interface RetentionOptions {
  jobs: Pick<JobStore, 'sweepRetention'>;
  storage: Pick<Storage, 'delete'>;
  logger: Logger;
  /** Finished jobs older than this lose their video; 0 turns retention off. */
  retentionMs: number;
  deleteJobs: boolean;
  /** Between two ticks; default 15 minutes. */
  intervalMs?: number;
  batch?: number;
}

export function createRetentionSweeper(opts: RetentionOptions) {
  const batch = opts.batch ?? BATCH;
  let timer: ReturnType<typeof setInterval> | undefined;
  let running: Promise<void> | undefined;

  /** One sweep: one statement, then the storage deletes; returns how many jobs it took. */
  async function sweep(): Promise<number> {
    const done = await opts.jobs.sweepRetention({ olderThanMs: opts.retentionMs, limit: batch, deleteJobs: opts.deleteJobs });
    let files = 0;
    for (const row of done) {
      if (row.shared) continue;
      try {
        await opts.storage.delete(row.fileKey);
        files += 1;
      } catch (err) {
        opts.logger.warn('retention: video delete failed', { job_id: row.id, error: loggableError(err) });
      }
    }
    if (done.length > 0) {
      opts.logger.info(opts.deleteJobs ? 'retention: deleted jobs' : 'retention: deleted videos', { jobs: done.length, files, older_than_days: opts.retentionMs / 86_400_000 });
    }
    return done.length;
  }

  const tick = () => {
    if (running) return;
    running = (async () => {
      for (let i = 0; i < MAX_SWEEPS_PER_TICK; i += 1) if ((await sweep()) < batch) break;
    })()
      .catch((err: unknown) => opts.logger.error('retention sweep failed', { error: loggableError(err) }))
      .finally(() => (running = undefined));
  };

  return {
    sweep,
    /** Sweeps now and then every interval; does nothing when retention is off. */
    start(): void {
      if (opts.retentionMs <= 0 || timer) return;
      tick();
      timer = setInterval(tick, opts.intervalMs ?? 15 * 60_000);
      timer.unref();
    },
    async stop(): Promise<void> {
      clearInterval(timer);
      timer = undefined;
      await running;
    },
  };
}
