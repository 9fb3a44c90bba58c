/**
 * Idempotency keys belong to one caller and one request (docs/auth.md). Anonymous clients are told
 * apart by address, as the rate limiter does; each request is sent here with the address a Node
 * server would see, straight to the app.
 */
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestApp, PUBLIC_BASE, type TestApp } from '../support/app.js';

let t: TestApp;
beforeAll(async () => {
  t = await createTestApp();
});
afterAll(async () => t?.close());

/** request-process from the client at `address`. */
async function requestProcess(address: string, key: string, body: Record<string, unknown>): Promise<Response> {
  const req = new Request(`${PUBLIC_BASE}/api/upload-video/request-process`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'Idempotency-Key': key },
    body: JSON.stringify(body),
  });
  return t.app.fetch(req, { incoming: { socket: { remoteAddress: address } } });
}

describe('idempotency keys', () => {
  it('gives another anonymous client that sends your key a job of its own, never yours', async () => {
    const key = `shared-${randomUUID()}`;
    const mine = await requestProcess('10.0.0.1', key, { fileKey: await t.upload() });
    const theirs = await requestProcess('10.0.0.2', key, { fileKey: await t.upload() });
    expect(mine.status).toBe(200);
    expect(theirs.status).toBe(200);
    const a = (await mine.json()) as { job_id: string };
    const b = (await theirs.json()) as { job_id: string };
    expect(b.job_id).not.toBe(a.job_id);
  });

  it('refuses a reused key with a different body with 409 CONFLICT, marked as a reused key', async () => {
    const key = `reused-${randomUUID()}`;
    const first = await requestProcess('10.0.0.3', key, { fileKey: await t.upload() });
    expect(first.status).toBe(200);
    const second = await requestProcess('10.0.0.3', key, { fileKey: await t.upload() });
    expect(second.status).toBe(409);
    expect(await second.json()).toMatchObject({ error: 'CONFLICT', idempotency_key_reused: true });
  });

  it('returns the same job for the same key and the same request, however the body spells it', async () => {
    const key = `same-${randomUUID()}`;
    const fileKey = await t.upload();
    const first = await requestProcess('10.0.0.4', key, { fileKey });
    const again = await requestProcess('10.0.0.4', key, { file_key: fileKey, language: 'auto', unknown: 1 });
    expect(again.status).toBe(200);
    expect(((await again.json()) as { job_id: string }).job_id).toBe(((await first.json()) as { job_id: string }).job_id);
  });

  it('treats another language for the same file as another request', async () => {
    const key = `lang-${randomUUID()}`;
    const fileKey = await t.upload();
    expect((await requestProcess('10.0.0.5', key, { fileKey, language: 'en' })).status).toBe(200);
    expect((await requestProcess('10.0.0.5', key, { fileKey, language: 'ko' })).status).toBe(409);
  });
});
