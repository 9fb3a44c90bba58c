/**
 * The status poll's answer (getJobStatus), shared by the Hono route and the lean request listener
 * (server/http/hot-paths.ts), so both answer alike by construction: a 304 from the process's version
 * cache when it can (server/jobs/events.ts), otherwise from the version alone, otherwise the body the
 * shared mapper makes (server/jobs/mapper.ts).
 */
import type { Config } from '../config.js';
import { authEnabled, sameOwner } from '../http/auth.js';
import type { JobVersions } from '../jobs/events.js';
import { etagOf, statusJson } from '../jobs/mapper.js';
import type { JobStore } from '../jobs/store.js';
import { ownedJob } from './jobs.js';

export type StatusAnswer = { status: 304; etag: string } | { status: 200; etag: string; body: string };

const matches = (ifNoneMatch: string, etag: string) => ifNoneMatch.split(',').some((t) => t.trim() === etag);

/**
 * `answer(caller, jobId, ifNoneMatch)`: throws JOB_NOT_FOUND (an unknown job, or someone else's)
 * like every job route.
 */
export function jobStatusAnswers(config: Pick<Config, 'auth' | 'storage'>, jobs: Pick<JobStore, 'getVersion' | 'view'>, versions: JobVersions) {
  const rules = { config };
  const visibleTo = (caller: string | null, jobOwner: string | null) => !authEnabled(config.auth) || sameOwner(jobOwner, caller);
  /** The ETag the version cache knows for the caller, if any: no database round trip. */
  const cachedEtag = (caller: string | null, jobId: string): string | undefined => {
    const id = jobId.toLowerCase();
    const known = versions.get(id);
    return known && visibleTo(caller, known.owner) ? etagOf({ id, version: known.version }) : undefined;
  };
  const answer = async (caller: string | null, jobId: string, ifNoneMatch: string | undefined): Promise<StatusAnswer> => {
    if (ifNoneMatch !== undefined) {
      // The 2-second poll's common case: unchanged, answered from the version cache or, on a miss,
      // from the version alone, without the result.
      let etag = cachedEtag(caller, jobId);
      if (etag === undefined || !matches(ifNoneMatch, etag)) {
        const began = versions.begin();
        const head = await ownedJob(rules, caller, jobId, (id) => jobs.getVersion(id));
        versions.fill(head.id, head, began);
        etag = etagOf(head);
      }
      if (matches(ifNoneMatch, etag)) return { status: 304, etag };
    }
    const began = versions.begin();
    const job = await ownedJob(rules, caller, jobId, (id) => jobs.view(id));
    versions.fill(job.id, job, began);
    return { status: 200, etag: etagOf(job), body: statusJson(job) };
  };
  /**
   * The 304 the cache alone can give (the same one `answer` would), or undefined: lets a caller
   * answer the common poll without waiting for anything.
   */
  const notModified = (caller: string | null, jobId: string, ifNoneMatch: string): string | undefined => {
    const etag = cachedEtag(caller, jobId);
    return etag !== undefined && matches(ifNoneMatch, etag) ? etag : undefined;
  };
  return Object.assign(answer, { notModified });
}
