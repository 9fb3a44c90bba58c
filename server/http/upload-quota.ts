/**
 * Per-client limits on upload URLs (docs/limits.md): how many URLs, and how many bytes they may
 * carry, per hour. An upload that declares its size reserves that many bytes (and its URL accepts no
 * more, on the embedded storage); one that declares none reserves the whole `MAX_UPLOAD_BYTES`.
 * Counts live in this process, as the request rate limit's do.
 */
import type { Config } from '../config.js';
import { ApiError } from '../errors.js';

export type UploadQuota = ReturnType<typeof createUploadQuota>;

const WINDOW_MS = 3_600_000;

export function createUploadQuota({ urlsPerHour, bytesPerHour }: Config['uploads'], now: () => number = Date.now) {
  const windows = new Map<string, { start: number; urls: number; bytes: number }>();
  const refuse = (t: number, start: number, message: string) => {
    const retryAfter = Math.max(1, Math.ceil((start + WINDOW_MS - t) / 1000));
    return new ApiError('RATE_LIMITED', `${message} Try again in ${retryAfter} seconds.`, { retry_after: retryAfter }, { 'Retry-After': String(retryAfter) });
  };
  return {
    /** Counts one upload URL of up to `bytes` for `client`; throws RATE_LIMITED (429, Retry-After) past a limit. */
    reserve(client: string, bytes: number): void {
      if (urlsPerHour <= 0 && bytesPerHour <= 0) return;
      const t = now();
      if (windows.size > 10_000) for (const [k, w] of windows) if (t - w.start >= WINDOW_MS) windows.delete(k);
      let w = windows.get(client);
      if (!w || t - w.start >= WINDOW_MS) windows.set(client, (w = { start: t, urls: 0, bytes: 0 }));
      if (urlsPerHour > 0 && w.urls + 1 > urlsPerHour) throw refuse(t, w.start, `At most ${urlsPerHour} upload URLs per hour.`);
      if (bytesPerHour > 0 && w.bytes + bytes > bytesPerHour) throw refuse(t, w.start, `At most ${bytesPerHour} bytes of uploads per hour.`);
      w.urls += 1;
      w.bytes += bytes;
    },
  };
}
