/** Validation messages name the field they are about, unions included (server/http/validation.ts). */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestApp, PUBLIC_BASE, type TestApp } from '../support/app.js';
import { invalidRequest } from '../support/contract.js';

let t: TestApp;
beforeAll(async () => {
  t = await createTestApp({ ALLOW_UNSIGNED_CALLBACKS: 'true' });
});
afterAll(async () => {
  await t?.close();
});

const bad = invalidRequest('validation messages: deliberately invalid');
async function problem(path: string, body: unknown): Promise<{ message: string; details: Array<{ path: string; message: string }> }> {
  const res = await t.fetch(`${PUBLIC_BASE}${path}`, { method: 'POST', headers: { ...bad, 'content-type': 'application/json' }, body: JSON.stringify(body) });
  expect(res.status).toBe(422);
  return (await res.json()) as { message: string; details: Array<{ path: string; message: string }> };
}

describe('validation messages', () => {
  it('says which of the file fields request-process needs when the body has none', async () => {
    const { message } = await problem('/api/upload-video/request-process', {});
    expect(message).toBe('The request is invalid: (body): one of fileKey, file_key or video_url is required.');
  });

  it('names the wrong field of a union branch, not the body', async () => {
    expect((await problem('/api/upload-video/request-process', { fileKey: 5 })).message).toMatch(/^The request is invalid: fileKey: Invalid input: expected string, received number/);
    expect((await problem('/api/upload-video/request-process', { fileKey: 'videos/a.mp4', language: '' })).details).toEqual([{ path: 'language', message: expect.stringMatching(/>=1 characters/) }]);
  });

  it('says a missing field is required, naming its aliases', async () => {
    const { message } = await problem('/api/upload-video/generate-url', { content_type: 'video/mp4' });
    expect(message).toBe('The request is invalid: (body): one of filename or file_name is required.');
    const { details } = await problem('/api/upload-video/generate-url', { filename: 'a.mp4', file_size: 'big' });
    expect(details).toEqual([{ path: 'file_size', message: expect.stringContaining('expected number') }]);
  });

  it('names the field inside a callback result that is wrong', async () => {
    const { message } = await problem('/api/upload-video/result', { job_id: crypto.randomUUID(), status: 'completed', result: { segments: 'none' } });
    expect(message).toMatch(/result\.segments/);
  });
});
