/**
 * Aborts multipart uploads left unfinished: their parts hold disk (embedded) or billed storage (S3)
 * until someone releases them. `MULTIPART_MAX_AGE_HOURS` (default 24) is how long an upload may stay
 * open; docs/limits.md.
 */
import type { Storage } from './types.js';

export interface MultipartSweeperOptions {
  /** Uploads started longer ago than this are aborted. Default 24 h. */
  maxAgeMs?: number;
  /** How often to look. Default one hour. */
  intervalMs?: number;
  onError?: (err: unknown) => void;
}

export const DEFAULT_MULTIPART_MAX_AGE_MS = 24 * 3600_000;

/** One pass: aborts every upload older than `maxAgeMs`; returns how many it aborted. */
export async function sweepMultipartUploads(storage: Storage, maxAgeMs = DEFAULT_MULTIPART_MAX_AGE_MS, now = Date.now()): Promise<number> {
  let aborted = 0;
  for (const found of await storage.multipart.list()) {
    if (now - found.createdAt.getTime() <= maxAgeMs) continue;
    const upload = await storage.multipart.get(found.key, found.uploadId);
    if (!upload) continue;
    await storage.multipart.abort(upload);
    aborted += 1;
  }
  return aborted;
}

/**
 * Sweeps now and then every `intervalMs`, never two passes at once; the timer does not keep the
 * process alive. Returns the function that stops it.
 *
 * @example
 * const stopSweeper = startMultipartSweeper(storage, { maxAgeMs: config.uploads.multipartMaxAgeMs });
 */
export function startMultipartSweeper(storage: Storage, options: MultipartSweeperOptions = {}): () => void {
  const maxAgeMs = options.maxAgeMs ?? DEFAULT_MULTIPART_MAX_AGE_MS;
  const onError = options.onError ?? ((err: unknown) => console.error('multipart sweeper:', err));
  let running = false;
  const pass = () => {
    if (running) return;
    running = true;
    sweepMultipartUploads(storage, maxAgeMs)
      .catch(onError)
      .finally(() => {
        running = false;
      });
  };
  pass();
  const timer = setInterval(pass, options.intervalMs ?? 3600_000);
  timer.unref();
  return () => clearInterval(timer);
}
