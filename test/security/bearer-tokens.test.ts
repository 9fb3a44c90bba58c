/**
 * Bearer tokens (docs/auth.md): a JWT must expire, must come from the configured issuer for the
 * configured audience, and its subject lives in a namespace of its own, so no subject can pass for
 * an API token's owner. Jobs stored before owners were namespaced stay their subject's.
 */
import { createHash, randomUUID } from 'node:crypto';
import { eq } from 'drizzle-orm';
import { sign } from 'hono/jwt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { jobs } from '../../drizzle/schema.js';
import { ownerSegment } from '../../server/domain/uploads.js';
import { createTestApp, PUBLIC_BASE, type TestApp } from '../support/app.js';

const SECRET = 'jwt-secret-for-the-token-tests-0123';
const API_TOKEN = 'an-api-token-for-the-token-tests-0123';
const ISSUER = 'https://id.example';
const AUDIENCE = 'ecg';
let t: TestApp;
beforeAll(async () => {
  t = await createTestApp({ JWT_SECRET: SECRET, API_TOKENS: API_TOKEN, JWT_ISSUER: ISSUER, JWT_AUDIENCE: AUDIENCE });
});
afterAll(async () => t?.close());

const inTenMinutes = () => Math.floor(Date.now() / 1000) + 600;
const jwt = (claims: Record<string, unknown>) => sign({ iss: ISSUER, aud: AUDIENCE, exp: inTenMinutes(), ...claims }, SECRET, 'HS256');
const status = (id: string, token: string) => t.fetch(`${PUBLIC_BASE}/api/upload-video/status/${id}`, { headers: { Authorization: `Bearer ${token}` } });
const generate = (token: string) =>
  t.fetch(`${PUBLIC_BASE}/api/upload-video/generate-url`, { method: 'POST', headers: { 'content-type': 'application/json', Authorization: `Bearer ${token}` }, body: JSON.stringify({ filename: 'a.mp4' }) });

async function jobOf(token: string): Promise<string> {
  const key = await t.upload(undefined, 'a.mp4', 'video/mp4', token);
  const res = await t.fetch(`${PUBLIC_BASE}/api/upload-video/request-process`, { method: 'POST', headers: { 'content-type': 'application/json', Authorization: `Bearer ${token}` }, body: JSON.stringify({ fileKey: key }) });
  return ((await res.json()) as { job_id: string }).job_id;
}

describe('JWT claims', () => {
  it('refuses a JWT without exp, however valid its signature', async () => {
    const token = await sign({ sub: 'alice', iss: ISSUER, aud: AUDIENCE }, SECRET, 'HS256');
    expect((await generate(token)).status).toBe(401);
  });

  it('refuses an expired JWT', async () => {
    expect((await generate(await jwt({ sub: 'alice', exp: Math.floor(Date.now() / 1000) - 60 }))).status).toBe(401);
  });

  it('refuses a JWT from another issuer, or for another audience', async () => {
    expect((await generate(await jwt({ sub: 'alice', iss: 'https://elsewhere.example' }))).status).toBe(401);
    expect((await generate(await jwt({ sub: 'alice', aud: 'another-service' }))).status).toBe(401);
    expect((await generate(await jwt({ sub: 'alice', aud: ['another-service', AUDIENCE] }))).status).toBe(200);
  });

  it('accepts a JWT with exp, the issuer and the audience', async () => {
    expect((await generate(await jwt({ sub: 'alice' }))).status).toBe(200);
  });
});

describe('owner namespaces', () => {
  it('never lets a JWT whose subject is spelled like an API token\'s owner see that token\'s jobs or folder', async () => {
    const id = await jobOf(API_TOKEN);
    const tokenOwner = `token:${createHash('sha256').update(API_TOKEN).digest('hex').slice(0, 16)}`;
    const impostor = await jwt({ sub: tokenOwner });
    expect((await status(id, API_TOKEN)).status).toBe(200);
    expect((await status(id, impostor)).status).toBe(404);
    expect(ownerSegment(`jwt:${tokenOwner}`)).not.toBe(ownerSegment(tokenOwner));
  });

  it('keeps a subject\'s upload folder and its jobs stored before owners were namespaced', async () => {
    const sub = `legacy${randomUUID().slice(0, 8)}`;
    const token = await jwt({ sub });
    const id = await jobOf(token);
    const [row] = await t.database.db.select({ owner: jobs.owner, key: jobs.fileKey }).from(jobs).where(eq(jobs.id, id));
    expect(row).toEqual({ owner: `jwt:${sub}`, key: expect.stringMatching(new RegExp(`^videos/${sub}/`)) });
    // As the job was stored before: the bare subject.
    await t.database.sql`update jobs set owner = ${sub} where id = ${id}`;
    expect((await status(id, token)).status).toBe(200);
    expect((await status(id, await jwt({ sub: 'someone-else' }))).status).toBe(404);
  });
});
