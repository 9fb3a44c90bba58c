/**
 * Headers every answer carries (docs/security.md): nosniff everywhere, and on the API reference
 * page a Content-Security-Policy that allows only our own scripts and forbids framing.
 */
import { createHash } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestApp, PUBLIC_BASE, type TestApp } from '../support/app.js';

let t: TestApp;
beforeAll(async () => {
  t = await createTestApp();
});
afterAll(async () => t?.close());

const get = (path: string) => t.app.fetch(new Request(`${PUBLIC_BASE}${path}`));

describe('response headers', () => {
  it.each([
    ['a JSON answer', '/health'],
    ['an error', '/api/upload-video/status/not-a-uuid'],
    ['an unknown route', '/nowhere'],
    ['the spec', '/openapi/v1.1.json'],
    ['the reference page', '/docs'],
    ['its script', '/docs/scalar.js'],
    ['the storage', '/storage/videos/anonymous/x.mp4'],
  ])('sends X-Content-Type-Options: nosniff on %s', async (_what, path) => {
    const res = await get(path);
    await res.arrayBuffer();
    expect(res.headers.get('x-content-type-options')).toBe('nosniff');
  });

  it('sends nosniff on an event stream', async () => {
    const { data } = await t.client.POST('/api/upload-video/request-process', { body: { fileKey: await t.upload() } });
    const res = await get(`/api/upload-video/status/${data!.job_id}/events`);
    expect(res.headers.get('content-type')).toMatch(/text\/event-stream/);
    expect(res.headers.get('x-content-type-options')).toBe('nosniff');
    await res.body?.cancel();
  });

  it('gives /docs a Content-Security-Policy with frame-ancestors \'none\' that allows exactly its inline start-up script', async () => {
    const res = await get('/docs');
    const html = await res.text();
    const csp = res.headers.get('content-security-policy') ?? '';
    expect(csp).toContain("frame-ancestors 'none'");
    expect(csp).toContain("default-src 'none'");
    expect(csp).not.toMatch(/script-src[^;]*'unsafe-inline'/);
    const inline = [...html.matchAll(/<script(?![^>]*\bsrc=)[^>]*>([\s\S]*?)<\/script>/gi)].map((m) => m[1] ?? '');
    expect(inline.length).toBeGreaterThan(0);
    for (const script of inline) expect(csp).toContain(`'sha256-${createHash('sha256').update(script).digest('base64')}'`);
    expect(res.headers.get('x-frame-options')).toBe('DENY');
  });

  it('leaves Cross-Origin-Resource-Policy off, so the frontend can play stored videos from its own origin', async () => {
    const res = await get('/health');
    expect(res.headers.get('cross-origin-resource-policy')).toBeNull();
  });
});
