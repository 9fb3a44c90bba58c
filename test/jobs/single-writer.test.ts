/**
 * All SQL that changes a job lives in server/jobs/store.ts (docs/job-lifecycle.md): only there is a
 * change stored together with its event, and announced after its commit.
 */
import { readdir, readFile } from 'node:fs/promises';
import { join, relative } from 'node:path';
import { describe, expect, it } from 'vitest';

const SERVER = join(import.meta.dirname, '..', '..', 'server');
const WRITER = 'jobs/store.ts';

/** Drizzle's `.update(jobs)`, `.insert(jobs)`, `.delete(jobs)` and raw `update jobs` / `insert into jobs` / `delete from jobs`. */
const WRITES_JOBS = /\.(update|insert|delete)\(\s*jobs\s*\)|\b(update|insert\s+into|delete\s+from)\s+(only\s+)?("?public"?\.)?"?jobs"?(?![\w-])/gi;

async function sources(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { withFileTypes: true, recursive: true });
  return entries
    .filter((e) => e.isFile() && /\.(ts|mts|js|mjs|sql)$/.test(e.name))
    .map((e) => join(e.parentPath, e.name))
    .filter((path) => !relative(SERVER, path).startsWith('generated'));
}

describe('the jobs table has one writer', () => {
  it('finds job writes in server/jobs/store.ts and nowhere else under server/', async () => {
    const found = new Map<string, string[]>();
    for (const path of await sources(SERVER)) {
      const hits = (await readFile(path, 'utf8')).match(WRITES_JOBS);
      if (hits) found.set(relative(SERVER, path).split('\\').join('/'), hits);
    }
    // The pattern sees the writer's own statements, so an empty result elsewhere means something.
    expect(found.get(WRITER)?.map((w) => w.toLowerCase())).toEqual(expect.arrayContaining(['update jobs', 'insert into jobs']));
    found.delete(WRITER);
    expect(Object.fromEntries(found)).toEqual({});
  });

  it('recognises each form of a write to jobs, and not other tables', () => {
    const writes = ['tx.update(jobs).set({})', 'db.insert( jobs ).values(x)', 'db.delete(jobs)', 'UPDATE jobs SET status = 1', 'insert into "jobs" (id)', 'delete from public.jobs where', 'update only jobs set'];
    for (const w of writes) expect(w.match(WRITES_JOBS), w).not.toBeNull();
    const others = ['db.update(jobEvents)', 'insert into job_events', 'update jobs_archive set', 'db.select().from(jobs)', 'the dispatcher updates jobs through the store'];
    for (const o of others) expect(o.match(WRITES_JOBS), o).toBeNull();
  });
});
