/** The request-process rate limit kept in PostgreSQL (server/http/rate-limit.ts, docs/auth.md). */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestApp, type TestApp } from '../support/app.js';

let t: TestApp;
beforeAll(async () => {
  t = await createTestApp({ RATE_LIMIT_PER_MINUTE: '3' });
});
afterAll(async () => {
  await t?.close();
});

const requestProcess = (fileKey: string) => t.client.POST('/api/upload-video/request-process', { body: { fileKey } });

describe('the request-process rate limit', () => {
  it('counts only requests that create a job, and answers with RateLimit, RateLimit-Policy and Retry-After', async () => {
    // Refused requests (unknown file) do not use up the limit: one typo does not lock a user out.
    for (let i = 0; i < 5; i++) {
      const typo = await requestProcess(`videos/anonymous/${crypto.randomUUID()}.mp4`);
      expect(typo.response.status).toBe(404);
    }
    const answers = [];
    for (let i = 0; i < 3; i++) answers.push(await requestProcess(await t.upload()));
    expect(answers.map((a) => a.response.status)).toEqual([200, 200, 200]);
    expect(answers[0]!.response.headers.get('ratelimit-policy')).toBe('"per-client";q=3;w=60');
    expect(answers.map((a) => /;r=(\d+);/.exec(a.response.headers.get('ratelimit') ?? '')?.[1])).toEqual(['2', '1', '0']);

    const limited = await requestProcess(await t.upload());
    expect(limited.response.status).toBe(429);
    expect(limited.error).toMatchObject({ error: 'RATE_LIMITED' });
    const retryAfter = Number(limited.response.headers.get('retry-after'));
    expect(retryAfter).toBeGreaterThan(0);
    expect(retryAfter).toBeLessThanOrEqual(60);
    expect(limited.response.headers.get('ratelimit')).toBe(`"per-client";r=0;t=${retryAfter}`);
  });

  it('does not count an idempotent replay of a job already created', async () => {
    const other = await createTestApp({ RATE_LIMIT_PER_MINUTE: '1' });
    try {
      const fileKey = await other.upload();
      const first = await other.client.POST('/api/upload-video/request-process', { body: { fileKey }, headers: { 'Idempotency-Key': 'same-key-1' } });
      const replay = await other.client.POST('/api/upload-video/request-process', { body: { fileKey }, headers: { 'Idempotency-Key': 'same-key-1' } });
      expect([first.response.status, replay.response.status]).toEqual([200, 429]);
    } finally {
      await other.close();
    }
  });
});
