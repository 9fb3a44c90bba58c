/**
 * Sends `job_changed` notifications after the writes they announce have committed
 * (docs/job-lifecycle.md, "The `job_changed` notification").
 *
 * PostgreSQL serialises the commits of transactions that called NOTIFY: the notify queue's lock is
 * taken before the commit record and held until the commit ends, which for a durable write includes
 * its WAL flush. A notification inside the job's write made every visible change wait for every
 * other one. Here the notifications are sent by a statement that writes nothing, so its commit does
 * not wait for a flush and holds the lock only briefly.
 *
 * One notifier per database client (so per process): notifications queued while a batch is in
 * flight go out together in the next one, as one statement. `send` resolves once the batch holding
 * its notifications has been sent (or has failed: the write is committed either way, and readers
 * bound how long a missed notification can go unnoticed, see server/jobs/events.ts).
 */
import type { Sql } from '../db/client.js';

export const JOB_CHANNEL = 'job_changed';

type Waiter = () => void;

export interface JobNotifier {
  /** Announces `<id>:<version>` for each change; resolves when they have been sent (or the send failed). */
  send(changes: readonly { id: string; version: number }[]): Promise<void>;
}

const notifiers = new WeakMap<object, JobNotifier>();

/** The notifier of this database client; `onError` is told of a batch that could not be sent. */
export function notifierFor(sql: Pick<Sql, 'unsafe'>, onError?: (err: unknown) => void): JobNotifier {
  let n = notifiers.get(sql);
  if (!n) notifiers.set(sql, (n = createNotifier(sql, onError)));
  return n;
}

export function createNotifier(sql: Pick<Sql, 'unsafe'>, onError?: (err: unknown) => void): JobNotifier {
  let queued: string[] = [];
  let waiters: Waiter[] = [];
  let inFlight = false;

  async function flush(): Promise<void> {
    while (queued.length > 0) {
      const payloads = queued;
      const done = waiters;
      queued = [];
      waiters = [];
      try {
        await sql.unsafe(`select pg_notify('${JOB_CHANNEL}', n) from unnest($1::text[]) as n`, [payloads] as never[], { prepare: true });
      } catch (err) {
        onError?.(err);
      }
      for (const w of done) w();
    }
    inFlight = false;
  }

  return {
    send(changes) {
      if (changes.length === 0) return Promise.resolve();
      for (const c of changes) queued.push(`${c.id}:${c.version}`);
      const sent = new Promise<void>((resolve) => waiters.push(resolve));
      if (!inFlight) {
        inFlight = true;
        void flush();
      }
      return sent;
    },
  };
}
