/**
 * `/docs` and the documents behind it: both versions of the backend API and of the ML server API
 * (docs/api-versions.md). The backend documents are served with `servers` set to this backend's
 * public URL (FASTAPI_BASE_URL), so "Try it" calls the backend that serves them; the ML server
 * documents keep their own `servers` (the ML server is not reachable through the backend).
 * The reference UI's script is served from our own package, not a CDN: /docs works offline.
 */
import { readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { Scalar } from '@scalar/hono-api-reference';
import type { Env, Hono } from 'hono';
import v10Spec from '../generated/v1.0/backend.openapi.json' with { type: 'json' };
import mlV10 from '../generated/v1.0/ml-server.openapi.json' with { type: 'json' };
import v11Spec from '../generated/v1.1/backend.openapi.json' with { type: 'json' };
import mlV11 from '../generated/v1.1/ml-server.openapi.json' with { type: 'json' };

const require = createRequire(import.meta.url);

/** A backend document whose only server is this backend. */
function servedFrom<T extends object>(spec: T, publicBaseUrl: string): T {
  return { ...spec, servers: [{ url: publicBaseUrl, description: 'This backend (FASTAPI_BASE_URL)' }] };
}

export function registerDocs<E extends Env>(app: Hono<E>, publicBaseUrl: string): void {
  const backend = { 'v1.0': servedFrom(v10Spec, publicBaseUrl), 'v1.1': servedFrom(v11Spec, publicBaseUrl) };
  app.get('/openapi/v1.0.json', (c) => c.json(backend['v1.0']));
  app.get('/openapi/v1.1.json', (c) => c.json(backend['v1.1']));
  app.get('/openapi/ml-server-v1.0.json', (c) => c.json(mlV10));
  app.get('/openapi/ml-server-v1.1.json', (c) => c.json(mlV11));

  let scalarScript: Promise<string> | undefined;
  app.get('/docs/scalar.js', async (c) => {
    scalarScript ??= readFile(require.resolve('@scalar/api-reference/browser/standalone.js'), 'utf8');
    c.header('Content-Type', 'text/javascript; charset=utf-8');
    c.header('Cache-Control', 'public, max-age=86400');
    return c.body(await scalarScript);
  });
  app.get(
    '/docs',
    Scalar({
      cdn: '/docs/scalar.js',
      // No font requests to a third party either.
      withDefaultFonts: false,
      pageTitle: 'ECG API',
      sources: [
        { title: 'v1.1', url: '/openapi/v1.1.json' },
        { title: 'v1.0', url: '/openapi/v1.0.json' },
        { title: 'ML server v1.1', url: '/openapi/ml-server-v1.1.json' },
        { title: 'ML server v1.0', url: '/openapi/ml-server-v1.0.json' },
      ],
    } as Parameters<typeof Scalar>[0]),
  );
}
