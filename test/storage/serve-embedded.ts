/** The embedded storage behind a real HTTP server, for the driver's tests. */
import { mkdtemp, rm } from 'node:fs/promises';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { ServerType } from '@hono/node-server';
import { serve } from '@hono/node-server';
import { Hono } from 'hono';
import type { EmbeddedStorage } from '../../server/storage/index.js';
import { createEmbeddedStorage, embeddedStorageRoutes } from '../../server/storage/index.js';

export const SECRET = 'test-secret-0123456789abcdef';

export interface Served {
  storage: EmbeddedStorage;
  dir: string;
  base: string;
  close(): Promise<void>;
}

/** The storage behind a real HTTP server on 127.0.0.1, mounted exactly as the app does: `app.route('/storage', ...)`. */
export async function serveEmbedded(maxBytes = 3 * 1024 * 1024 * 1024): Promise<Served> {
  const dir = await mkdtemp(path.join(tmpdir(), 'ecg-embedded-'));
  const holder: { app?: Hono } = {};
  const server: ServerType = serve({ fetch: (req, env) => holder.app!.fetch(req, env), port: 0, hostname: '127.0.0.1' });
  await new Promise<void>((resolve) => (server.listening ? resolve() : server.once('listening', () => resolve())));
  const { port } = server.address() as AddressInfo;
  const base = `http://127.0.0.1:${port}`;
  const storage = createEmbeddedStorage({ dir: path.join(dir, 'store'), publicBaseUrl: `${base}/`, secret: SECRET, maxBytes });
  holder.app = new Hono().route('/storage', embeddedStorageRoutes(storage));
  return {
    storage,
    dir,
    base,
    async close() {
      await new Promise<void>((resolve) => server.close(() => resolve()));
      await rm(dir, { recursive: true, force: true });
    },
  };
}
