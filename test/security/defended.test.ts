/**
 * Attacks the service already withstood, kept as tests where no other file pins them
 * (docs/security.md lists every attack and the test that pins it): JWT algorithm tricks, the
 * forms of server-side request forgery through `video_url`, callback token enumeration, storage
 * signatures bound to their key, and secrets kept out of the logs.
 */
import { randomUUID } from 'node:crypto';
import { join } from 'node:path';
import { eq } from 'drizzle-orm';
import { sign } from 'hono/jwt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { jobs } from '../../drizzle/schema.js';
import { createEmbeddedStorage } from '../../server/storage/index.js';
import { createTestApp, PUBLIC_BASE, type TestApp } from '../support/app.js';
import { invalidRequest } from '../support/contract.js';

const SECRET = 'jwt-secret-for-the-defended-tests-01';
const lines: string[] = [];
let open: TestApp;
let authed: TestApp;
beforeAll(async () => {
  [open, authed] = await Promise.all([createTestApp({}, undefined, { logLines: lines }), createTestApp({ JWT_SECRET: SECRET })]);
});
afterAll(async () => Promise.all([open?.close(), authed?.close()]));

const b64url = (o: unknown) => Buffer.from(JSON.stringify(o)).toString('base64url');
const exp = () => Math.floor(Date.now() / 1000) + 600;
const generate = (token: string) =>
  authed.fetch(`${PUBLIC_BASE}/api/upload-video/generate-url`, { method: 'POST', headers: { 'content-type': 'application/json', Authorization: `Bearer ${token}` }, body: JSON.stringify({ filename: 'a.mp4' }) });

describe('JWT forgeries', () => {
  it('refuses a token with alg "none" and no signature', async () => {
    const token = `${b64url({ alg: 'none', typ: 'JWT' })}.${b64url({ sub: 'alice', exp: exp() })}.`;
    expect((await generate(token)).status).toBe(401);
  });

  it('refuses a token signed with the right secret under another algorithm (HS512)', async () => {
    expect((await generate(await sign({ sub: 'alice', exp: exp() }, SECRET, 'HS512'))).status).toBe(401);
  });

  it('refuses a token signed with another key, and one whose payload was edited after signing', async () => {
    expect((await generate(await sign({ sub: 'alice', exp: exp() }, 'another-secret-0123456789abcdef', 'HS256'))).status).toBe(401);
    const genuine = await sign({ sub: 'bob', exp: exp() }, SECRET, 'HS256');
    const [head, , sig] = genuine.split('.');
    expect((await generate(`${head}.${b64url({ sub: 'alice', exp: exp() })}.${sig}`)).status).toBe(401);
  });
});

describe('server-side request forgery through video_url', () => {
  it.each([
    'http://127.0.0.1:5432/',
    'http://localhost/storage/videos/anonymous/x.mp4',
    'http://169.254.169.254/latest/meta-data/',
    'http://[::1]/',
    'http://2130706433/',
    'file:///etc/passwd',
    `${PUBLIC_BASE}.evil.example/storage/videos/anonymous/x.mp4`,
    `http://user:pass@backend.test/storage/videos/anonymous/x.mp4`,
    'gopher://backend.test/',
  ])('refuses %s as no file of ours', async (videoUrl) => {
    const res = await open.fetch(`${PUBLIC_BASE}/api/upload-video/request-process`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ video_url: videoUrl }),
    });
    expect([404, 422]).toContain(res.status);
    expect(((await res.json()) as { error: string }).error).toMatch(/^(VALIDATION_ERROR|FILE_NOT_FOUND)$/);
  });

  it('refuses an own-storage URL whose key climbs out of the upload folder', async () => {
    const res = await open.fetch(`${PUBLIC_BASE}/api/upload-video/request-process`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ video_url: `${PUBLIC_BASE}/storage/videos/anonymous/%2e%2e/%2e%2e/storage.secret` }),
    });
    expect([404, 422]).toContain(res.status);
  });
});

describe('callback token enumeration', () => {
  it('answers an unknown, a malformed and another job\'s token alike: 401 with the same body', async () => {
    const { data } = await open.client.POST('/api/upload-video/request-process', { body: { fileKey: await open.upload() } });
    const other = await open.client.POST('/api/upload-video/request-process', { body: { fileKey: await open.upload() } });
    const [row] = await open.database.db.select({ token: jobs.callbackToken }).from(jobs).where(eq(jobs.id, other.data!.job_id));
    const body = JSON.stringify({ job_id: data!.job_id, status: 'processing', progress: 5 });
    const answers = await Promise.all(
      [`unknown${randomUUID().replaceAll('-', '')}`, 'short', row!.token].map((token) =>
        open.fetch(`${PUBLIC_BASE}/api/ml-callback/${token}/api/upload-video/result`, {
          method: 'POST',
          headers: token === 'short' ? invalidRequest('a token shorter than the pattern', { 'content-type': 'application/json' }) : { 'content-type': 'application/json' },
          body,
        }),
      ),
    );
    expect(answers.map((a) => a.status)).toEqual([401, 401, 401]);
    const [unknown, malformed] = await Promise.all(answers.slice(0, 2).map((a) => a.json()));
    expect(malformed).toEqual(unknown);
  });
});

describe('storage signatures', () => {
  it('refuses a download URL whose signature was made for another key', async () => {
    const a = await open.upload(new Uint8Array(8), 'a.mp4');
    const b = await open.upload(new Uint8Array(8), 'b.mp4');
    const storage = createEmbeddedStorage({ dir: join(open.config.dataDir, 'storage'), publicBaseUrl: PUBLIC_BASE, secret: 'test-storage-secret-0123456789', maxBytes: 1 << 20 });
    const signedForA = new URL(await storage.presignDownload(a, { expiresIn: 60 }));
    const swapped = `${PUBLIC_BASE}/storage/${b.split('/').map(encodeURIComponent).join('/')}${signedForA.search}`;
    expect((await open.app.fetch(new Request(swapped))).status).toBe(403);
    expect((await open.app.fetch(new Request(signedForA.href))).status).toBe(200);
  });
});

describe('logs', () => {
  it('keep per-job callback tokens, storage signatures and bearer tokens out of every line', async () => {
    const { data } = await open.client.POST('/api/upload-video/request-process', { body: { fileKey: await open.upload() } });
    const [row] = await open.database.db.select({ token: jobs.callbackToken }).from(jobs).where(eq(jobs.id, data!.job_id));
    await open.fetch(`${PUBLIC_BASE}/api/ml-callback/${row!.token}/api/upload-video/result`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', Authorization: 'Bearer a-bearer-secret-in-open-mode' },
      body: JSON.stringify({ job_id: data!.job_id, status: 'processing', progress: 5 }),
    });
    const log = lines.join('\n');
    expect(log).toContain('/api/ml-callback/[token]');
    expect(log).not.toContain(row!.token);
    expect(log).not.toMatch(/sig=|expires=/);
    expect(log).not.toContain('a-bearer-secret-in-open-mode');
  });
});
