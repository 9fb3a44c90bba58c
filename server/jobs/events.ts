/**
 * Job change notifications across processes: every write to a job runs `pg_notify('job_changed', id)`
 * in its transaction; one LISTEN connection per process fans the ids out to local subscribers
 * (the Server-Sent Events streams).
 */
import type { Sql } from '../db/client.js';
import { JOB_CHANNEL } from './store.js';

export interface JobEvents {
  /** Calls `fn` whenever job `id` changes; returns the unsubscribe function. */
  subscribe(id: string, fn: () => void): () => void;
  /** True once closing: streams end instead of waiting for more changes. */
  readonly closed: boolean;
  /** Wakes every subscriber one last time (so open streams can end) and stops listening. */
  close(): Promise<void>;
}

export async function createJobEvents(sql: Sql): Promise<JobEvents> {
  const subscribers = new Map<string, Set<() => void>>();
  const listener = await sql.listen(JOB_CHANNEL, (id) => {
    for (const fn of subscribers.get(id) ?? []) fn();
  });
  let closed = false;
  return {
    get closed() {
      return closed;
    },
    subscribe(id, fn) {
      let set = subscribers.get(id);
      if (!set) subscribers.set(id, (set = new Set()));
      set.add(fn);
      return () => {
        set.delete(fn);
        if (set.size === 0) subscribers.delete(id);
      };
    },
    async close() {
      if (closed) return;
      closed = true;
      for (const set of subscribers.values()) for (const fn of set) fn();
      subscribers.clear();
      await listener.unlisten();
    },
  };
}
