/**
 * Database errors in the logs (docs/security.md): a failed query's message carries every parameter
 * of the query, so the error handler logs the error's name, SQLSTATE and constraint, never its message.
 * The failure is forced with a constraint that refuses every callback's job event.
 */
import { eq, sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { jobs } from '../../drizzle/schema.js';
import { loggableError } from '../../server/errors.js';
import { createTestApp, PUBLIC_BASE, type TestApp } from '../support/app.js';

const lines: string[] = [];
let t: TestApp;
beforeAll(async () => {
  t = await createTestApp({ ALLOW_UNSIGNED_CALLBACKS: 'true' }, undefined, { isolatedDatabase: true, logLines: lines });
  await t.database.db.execute(sql`alter table job_events add constraint refuse_callbacks check (kind = 'created')`);
});
afterAll(async () => t?.close());

describe('database errors in the logs', () => {
  it('logs a failing callback by error name, code and constraint, without the transcript or the callback token', async () => {
    const { data } = await t.client.POST('/api/upload-video/request-process', { body: { fileKey: await t.upload() } });
    const id = data!.job_id;
    const [row] = await t.database.db.select({ token: jobs.callbackToken }).from(jobs).where(eq(jobs.id, id));
    const transcript = 'the-secret-transcript-words-' + id;
    const res = await t.fetch(`${PUBLIC_BASE}/api/ml-callback/${row!.token}/api/upload-video/result`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ job_id: id, status: 'completed', progress: 100, result: { text: transcript, segments: [{ start: 0, end: 1, text: transcript }] } }),
    });
    expect(res.status).toBe(500);
    const errors = lines.filter((l) => l.includes('"unhandled error"'));
    expect(errors).toHaveLength(1);
    const logged = JSON.parse(errors[0]!) as { error: Record<string, string> };
    expect(logged.error).toMatchObject({ code: '23514', constraint: 'refuse_callbacks' });
    expect(errors[0]).not.toContain(transcript);
    expect(errors[0]).not.toContain(row!.token);
    expect(lines.join('\n')).not.toContain(row!.token);
  });

  it('names a plain error by its name alone', () => {
    expect(loggableError(new TypeError('secret detail'))).toEqual({ name: 'TypeError' });
    expect(loggableError('a string with a secret')).toEqual({ name: 'string' });
  });
});
