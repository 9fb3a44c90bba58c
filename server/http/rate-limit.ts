/**
 * A fixed-window rate limiter per client key (docs/limits.md: request-process allows 5 requests a
 * minute per client by default). Counts live in this process; behind several processes each enforces its own window.
 */
import { ApiError } from '../errors.js';

export type RateLimiter = ReturnType<typeof createRateLimiter>;

export function createRateLimiter(limitPerMinute: number, now: () => number = Date.now) {
  const windows = new Map<string, { start: number; count: number }>();
  return {
    /** Throws RATE_LIMITED (429, with Retry-After) past the limit. A limit of 0 disables it. */
    hit(key: string): void {
      if (limitPerMinute <= 0) return;
      const t = now();
      if (windows.size > 10_000) {
        for (const [k, w] of windows) if (t - w.start >= 60_000) windows.delete(k);
      }
      let w = windows.get(key);
      if (!w || t - w.start >= 60_000) {
        w = { start: t, count: 0 };
        windows.set(key, w);
      }
      w.count += 1;
      if (w.count > limitPerMinute) {
        const retryAfter = Math.max(1, Math.ceil((w.start + 60_000 - t) / 1000));
        throw new ApiError('RATE_LIMITED', `Too many requests; try again in ${retryAfter} seconds.`, { retry_after: retryAfter }, { 'Retry-After': String(retryAfter) });
      }
    },
  };
}
