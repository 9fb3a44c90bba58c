/**
 * Caps on open Server-Sent Events streams (docs/limits.md): per client and per process, each stream
 * for at most a maximum lifetime, after which the client reconnects with `Last-Event-ID`. A stream
 * over a cap is refused with 429 and `Retry-After` before it opens.
 */
import type { Config } from '../config.js';
import { ApiError } from '../errors.js';

export type StreamLimits = ReturnType<typeof createStreamLimits>;

/** Seconds a refused client waits: about when a stream of its own (or anyone's) ends at the latest. */
const RETRY_AFTER_SECONDS = 5;

export function createStreamLimits({ perClient, perProcess, maxLifetimeMs }: Config['streams']) {
  const open = new Map<string, number>();
  let total = 0;
  const refuse = (message: string) =>
    new ApiError('RATE_LIMITED', message, { retry_after: RETRY_AFTER_SECONDS }, { 'Retry-After': String(RETRY_AFTER_SECONDS) });
  return {
    maxLifetimeMs,
    /** Open streams, for tests and metrics. */
    get open(): number {
      return total;
    },
    /**
     * Counts a stream for `client`; returns the release function (idempotent). Throws RATE_LIMITED
     * when the client or the process already holds as many streams as allowed.
     */
    acquire(client: string): () => void {
      const mine = open.get(client) ?? 0;
      if (perProcess > 0 && total >= perProcess) throw refuse('Too many event streams are open on this server; poll the status instead, or retry later.');
      if (perClient > 0 && mine >= perClient) throw refuse(`At most ${perClient} event streams may be open per client.`);
      open.set(client, mine + 1);
      total += 1;
      let released = false;
      return () => {
        if (released) return;
        released = true;
        total -= 1;
        const n = (open.get(client) ?? 1) - 1;
        if (n <= 0) open.delete(client);
        else open.set(client, n);
      };
    },
  };
}

/** The version a reconnecting client last saw (`Last-Event-ID`), or -1. */
export function lastEventVersion(header: string | undefined): number {
  return header !== undefined && /^[0-9]{1,15}$/.test(header.trim()) ? Number(header.trim()) : -1;
}
