/** /docs and the documents it shows (server/http/docs.ts). */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestApp, PUBLIC_BASE, type TestApp } from '../support/app.js';

let t: TestApp;
beforeAll(async () => {
  t = await createTestApp();
});
afterAll(async () => {
  await t?.close();
});

const get = async (path: string) => t.app.fetch(new Request(`${PUBLIC_BASE}${path}`));

describe('the API reference', () => {
  it('serves the backend documents with this backend (FASTAPI_BASE_URL) as their server, so "Try it" calls it', async () => {
    for (const version of ['v1.0', 'v1.1']) {
      const doc = (await (await get(`/openapi/${version}.json`)).json()) as { servers: Array<{ url: string }>; info: { version: string } };
      expect(doc.servers).toEqual([{ url: PUBLIC_BASE, description: expect.any(String) }]);
      expect(doc.info.version.startsWith(version.slice(1))).toBe(true);
    }
  });

  it('shows the ML server API of both versions beside the backend API', async () => {
    const html = await (await get('/docs')).text();
    for (const path of ['/openapi/v1.1.json', '/openapi/v1.0.json', '/openapi/ml-server-v1.1.json', '/openapi/ml-server-v1.0.json']) expect(html).toContain(path);
    const ml = (await (await get('/openapi/ml-server-v1.1.json')).json()) as { info: { title: string }; paths: Record<string, unknown> };
    expect(ml.info.title).toBe('ECG ML server API');
    expect(Object.keys(ml.paths)).toContain('/api/upload-video/status/{job_id}');
  });
});
