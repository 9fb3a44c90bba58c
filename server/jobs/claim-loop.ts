/**
 * The loop of the two background workers, the dispatcher (server/jobs/dispatcher.ts) and the
 * consumer-webhook worker (server/webhooks/delivery.ts): a tick claims due work from PostgreSQL and
 * starts each piece; pieces run concurrently, and each one that ends ticks again (a slot is free).
 * Ticks never overlap: one asked for while another runs makes the running one go round once more.
 * Stopping stops claiming, aborts the work in flight through `signal` and waits for it; claimed
 * rows keep their lease, so whatever was cut short is claimed again later.
 */
import { loggableError } from '../errors.js';
import type { Logger } from '../logger.js';

export interface ClaimLoop {
  /** Claims and starts what is due now (or makes a running tick go round once more). */
  tick(): Promise<void>;
  /** Ticks every `intervalMs`, and once now. */
  start(intervalMs: number): void;
  /** Stops claiming, aborts the work in flight and waits for it. */
  stop(): Promise<void>;
  readonly stopped: boolean;
  /** Aborted when the loop stops. */
  readonly signal: AbortSignal;
  /** Pieces of work running. */
  readonly inFlight: number;
  /** Settles once no tick runs and no work is in flight (the ticks that ending work starts included). */
  settled(): Promise<void>;
}

/**
 * `round` claims what is due and hands each piece to `launch`, with what to log if it fails;
 * `failure` is the log message when a round itself throws.
 */
export function claimLoop(opts: {
  logger: Logger;
  failure: string;
  round: (launch: (work: () => Promise<void>, onError: (err: unknown) => void) => void) => Promise<void>;
}): ClaimLoop {
  const inFlight = new Set<Promise<void>>();
  const shutdown = new AbortController();
  let timer: NodeJS.Timeout | undefined;
  let running = false;
  let again = false;
  let stopped = false;

  const launch = (work: () => Promise<void>, onError: (err: unknown) => void) => {
    const p = work()
      .catch(onError)
      .finally(() => {
        inFlight.delete(p);
        // A slot freed up, or the work was rescheduled: look again.
        void tick();
      });
    inFlight.add(p);
  };

  async function tick(): Promise<void> {
    if (stopped) return;
    if (running) {
      again = true;
      return;
    }
    running = true;
    try {
      do {
        again = false;
        await opts.round(launch);
      } while (again && !stopped);
    } catch (err) {
      opts.logger.error(opts.failure, { error: loggableError(err) });
    } finally {
      running = false;
    }
  }

  return {
    tick,
    start(intervalMs) {
      stopped = false;
      timer = setInterval(() => void tick(), intervalMs);
      timer.unref();
      void tick();
    },
    async stop() {
      stopped = true;
      if (timer) clearInterval(timer);
      shutdown.abort();
      await Promise.allSettled([...inFlight]);
    },
    get stopped() {
      return stopped;
    },
    signal: shutdown.signal,
    get inFlight() {
      return inFlight.size;
    },
    async settled() {
      // Work that ends starts a tick before its promise settles, so `running` is already true then.
      while (running || inFlight.size > 0) {
        await Promise.allSettled([...inFlight]);
        if (running) await new Promise((resolve) => setTimeout(resolve, 5));
      }
    },
  };
}
