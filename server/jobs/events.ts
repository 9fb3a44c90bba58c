/**
 * Job change notifications across processes: every visible write to a job is followed, right after
 * its commit, by `pg_notify('job_changed', '<id>:<version>')` (server/jobs/store.ts,
 * server/jobs/notifier.ts); a deletion notifies `<id>` alone, inside its own statement (rare, so its
 * serialised commit costs nothing; caches forget the job, streams end); one LISTEN
 * connection per process fans them out to local subscribers (the Server-Sent Events streams) and keeps
 * the process's cache of job versions, which answers the status poll's `If-None-Match` without a
 * database round trip.
 *
 * The cache only says "version N is current", and only moves forward: a notification raises an
 * entry, a database read fills it no lower than it is. While the LISTEN connection is down,
 * notifications are lost, so every reconnect (postgres.js calls `onlisten` on each) drops the whole
 * cache and the reads that were in flight may not fill it. A client is therefore answered 304 only
 * for a version it already holds, never sent back to an older one; a miss reads the database.
 *
 * The notification is sent after the commit, not in it, so a process that dies between the two
 * leaves the others unaware of that version. An entry is therefore trusted for VERSION_TRUST_MS
 * after a read or a newer version last confirmed it; past that, `get` knows nothing and the next
 * poll reads the database once. Notifications of one job can also arrive out of order (different
 * batches, different processes): the cache keeps the highest version it heard of.
 */
import type { Sql } from '../db/client.js';
import { JOB_CHANNEL } from './notifier.js';

/** Entries kept; the oldest is forgotten first (a forgotten entry costs one read). */
const VERSIONS_MAX = 100_000;
/**
 * How long an entry answers without a database read: how late a poll may learn of a change whose
 * notification was lost (its writer died between commit and notify). Above the clients' 2-second
 * poll, so an unchanged job costs about one read every few polls, not one per poll.
 */
export const VERSION_TRUST_MS = 5_000;

export interface KnownVersion {
  version: number;
  owner: string | null;
}

export interface JobVersions {
  /** The newest version this process knows of job `id`, when it knows one and its owner. */
  get(id: string): KnownVersion | undefined;
  /**
   * Records what a database read found. Call `begin()` before the read and pass its value: a read that
   * raced a reconnect or an eviction is not recorded.
   */
  fill(id: string, seen: KnownVersion, began: number): void;
  begin(): number;
  /** A version this process just wrote: its own clients see their change before the notification is back. */
  wrote(id: string, version: number): void;
}

export interface JobEvents {
  /** Calls `fn` whenever job `id` changes; returns the unsubscribe function. */
  subscribe(id: string, fn: () => void): () => void;
  /** The process's cache of job versions, kept by the notifications. */
  readonly versions: JobVersions;
  /** True once closing: streams end instead of waiting for more changes. */
  readonly closed: boolean;
  /** Wakes every subscriber one last time (so open streams can end) and stops listening. */
  close(): Promise<void>;
}

export function createJobVersions(now: () => number = Date.now): JobVersions & { reset(): void } {
  /** id -> newest version known, when a read or a raise last confirmed it; owner undefined until a read has told it. */
  const entries = new Map<string, { version: number; owner: string | null | undefined; at: number }>();
  /** Bumped by every reconnect and every eviction: reads begun before it must not fill. */
  let generation = 0;
  /** `read`: the database said so just now (so even an equal version is confirmed). */
  const put = (id: string, version: number, owner: string | null | undefined, read: boolean) => {
    const known = entries.get(id);
    if (known) {
      // A lower version (a late notification) neither lowers nor confirms the entry.
      if (version > known.version || (read && version === known.version)) known.at = now();
      if (version > known.version) known.version = version;
      if (owner !== undefined) known.owner = owner;
      return;
    }
    entries.set(id, { version, owner, at: now() });
    if (entries.size > VERSIONS_MAX) {
      entries.delete(entries.keys().next().value!);
      // The forgotten entry may be one a read in flight would now fill too low.
      generation += 1;
    }
  };
  return {
    get(id) {
      const known = entries.get(id);
      if (!known || known.owner === undefined || now() - known.at > VERSION_TRUST_MS) return undefined;
      return { version: known.version, owner: known.owner };
    },
    begin: () => generation,
    fill(id, seen, began) {
      if (began === generation) put(id, seen.version, seen.owner, true);
    },
    wrote(id, version) {
      put(id, version, undefined, false);
    },
    reset() {
      generation += 1;
      entries.clear();
    },
  };
}

export async function createJobEvents(sql: Sql): Promise<JobEvents> {
  const subscribers = new Map<string, Set<() => void>>();
  const versions = createJobVersions();
  const listener = await sql.listen(
    JOB_CHANNEL,
    (payload) => {
      const at = payload.lastIndexOf(':');
      const id = at < 0 ? payload : payload.slice(0, at);
      const version = at < 0 ? NaN : Number(payload.slice(at + 1));
      // A payload without a version (an older backend during a rolling deploy) makes the entry unusable.
      if (Number.isInteger(version)) versions.wrote(id, version);
      else versions.wrote(id, Number.MAX_SAFE_INTEGER);
      for (const fn of subscribers.get(id) ?? []) fn();
    },
    () => versions.reset(),
  );
  let closed = false;
  return {
    get closed() {
      return closed;
    },
    versions,
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
      versions.reset();
      for (const set of subscribers.values()) for (const fn of set) fn();
      subscribers.clear();
      await listener.unlisten();
    },
  };
}
