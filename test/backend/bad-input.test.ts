/**
 * The bad-input matrix: every JSON endpoint answers malformed input with a documented 4xx and the
 * error envelope, never a 500.
 */
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestApp, type TestApp } from '../support/app.js';

let t: TestApp;
beforeAll(async () => {
  t = await createTestApp({ WEBHOOK_SECRET: 'plain-secret-for-tests', ALLOW_UNSIGNED_CALLBACKS: 'true' });
});
afterAll(async () => t.close());

const ENDPOINTS = [
  { path: '/api/upload-video/generate-url', valid: { filename: 'a.mp4' } },
  { path: '/api/upload-video/request-process', valid: { fileKey: 'videos/anonymous/x.mp4' } },
  { path: '/api/upload-video/result', valid: { job_id: randomUUID(), status: 'processing' } },
  { path: '/api/v1/ml/ml-results', valid: { job_id: randomUUID(), status: 'processing' } },
];

const CASES: Array<{ name: string; body: string; type?: string; expected: number[] }> = [
  { name: 'invalid JSON', body: '{"filename": ', expected: [400] },
  { name: 'an empty body', body: '', expected: [400, 422] },
  { name: 'a JSON array', body: '[1,2]', expected: [422] },
  { name: 'a JSON string', body: '"x"', expected: [422] },
  { name: 'null', body: 'null', expected: [422] },
  { name: 'an empty object', body: '{}', expected: [422] },
  { name: 'mistyped fields', body: '{"filename": 5, "fileKey": 5, "job_id": 5, "status": 5}', expected: [422] },
  { name: 'an unknown enum value', body: '{"filename": "", "fileKey": "", "job_id": "x", "status": "exploded"}', expected: [422] },
  { name: 'a wrong content type', body: '{"filename": "a.mp4"}', type: 'text/plain', expected: [415] },
  { name: 'form data', body: 'filename=a.mp4', type: 'application/x-www-form-urlencoded', expected: [415] },
];

describe.each(ENDPOINTS)('POST $path', ({ path }) => {
  it.each(CASES)('answers $name with a documented 4xx envelope', async ({ body, type, expected }) => {
    const res = await t.fetch(`http://backend.test${path}`, { method: 'POST', headers: { 'content-type': type ?? 'application/json' }, body });
    expect(expected).toContain(res.status);
    const json = (await res.json()) as { error: string; message: string };
    expect(typeof json.error).toBe('string');
    expect(typeof json.message).toBe('string');
  });

  it('answers an oversized body with 413 PAYLOAD_TOO_LARGE', async () => {
    const limit = path.includes('ml') || path.endsWith('/result') ? 50 * 1024 * 1024 : 1024 * 1024;
    const body = JSON.stringify({ pad: 'x'.repeat(limit + 10) });
    const res = await t.fetch(`http://backend.test${path}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body });
    expect(res.status).toBe(413);
    expect(await res.json()).toMatchObject({ error: 'PAYLOAD_TOO_LARGE' });
  });
});

describe('unknown routes and ids', () => {
  it('answers an unknown route with 404 NOT_FOUND in the envelope', async () => {
    const res = await t.fetch('http://backend.test/api/nope');
    expect(res.status).toBe(404);
    expect(await res.json()).toMatchObject({ error: 'NOT_FOUND' });
  });

  it('answers a malformed job id on cancel and events with 422, an unknown one with 404', async () => {
    for (const p of ['/api/upload-video/cancel/%00', '/api/upload-video/status/abc/events']) {
      const res = await t.fetch(`http://backend.test${p}`, { method: p.includes('cancel') ? 'POST' : 'GET' });
      expect(res.status).toBe(422);
    }
    const res = await t.fetch(`http://backend.test/api/upload-video/status/${randomUUID()}/events`);
    expect(res.status).toBe(404);
  });

  it('never leaks a stack trace or internal URL in an error message', async () => {
    const res = await t.fetch('http://backend.test/api/upload-video/request-process', { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"fileKey": "../../etc/passwd"}' });
    const text = await res.text();
    expect(res.status).toBe(404);
    expect(text).not.toMatch(/at .*\.ts:\d+|postgres:\/\/|node_modules/);
  });
});
