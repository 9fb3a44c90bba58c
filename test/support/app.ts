/**
 * The real app, in-process, on this run's Postgres and an embedded storage in a temp dir.
 * Tests talk to it through openapi-fetch typed by the v1.1 spec, with `fetch` injected.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Hono } from 'hono';
import createClient from 'openapi-fetch';
import { createMlServerClient } from '@ecg/sdk/ml-client';
import type { paths } from '../../sdk/src/generated/v1.1/backend.js';
import { createApp } from '../../server/app.js';
import { type Config,loadConfig } from '../../server/config.js';
import { createDatabase } from '../../server/db/client.js';
import { runMigrations } from '../../server/db/migrate.js';
import { createDispatcher } from '../../server/jobs/dispatcher.js';
import { createJobEvents } from '../../server/jobs/events.js';
import { createLogger } from '../../server/logger.js';
import { createEmbeddedStorage, embeddedStorageRoutes, type Storage } from '../../server/storage/index.js';
import { contractFetch } from './contract.js';
import { scratchDatabase, testDatabaseUrl } from './db.js';

export const PUBLIC_BASE = 'http://backend.test';

export interface TestApp {
  app: ReturnType<typeof createApp>;
  client: ReturnType<typeof createClient<paths>>;
  config: Config;
  fetch: (input: Request | string, init?: RequestInit) => Promise<Response>;
  database: ReturnType<typeof createDatabase>;
  dispatcher: ReturnType<typeof createDispatcher>;
  /** The storage the app uses (the embedded one unless `options.storage`). */
  storage: Storage;
  /** Calls the ML server's process-video received, in order. */
  mlCalls: Array<{ body: Record<string, unknown> }>;
  /** Uploads bytes through generate-url and the presigned PUT; returns the file key. */
  upload(bytes?: Uint8Array, filename?: string, contentType?: string, token?: string): Promise<string>;
  close(): Promise<void>;
}

/** A fake ML server (a Hono app reached through an injected fetch): answers as `mlAnswer` says. */
export type MlAnswer = (body: Record<string, unknown>) => Response | Promise<Response>;

export interface TestAppOptions {
  /** A database of its own (migrated), for tests that count or dispatch every job in it. */
  isolatedDatabase?: boolean;
  /** Collects the app's log lines (at level info) instead of discarding them. */
  logLines?: string[];
  /** Another storage than the embedded one (e.g. the S3 driver against s3rver); it is not closed by `close()`. */
  storage?: Storage;
}

export async function createTestApp(env: Record<string, string> = {}, mlAnswer?: MlAnswer, options: TestAppOptions = {}): Promise<TestApp> {
  const dir = await mkdtemp(join(tmpdir(), 'ecg-app-'));
  const scratch = options.isolatedDatabase ? await scratchDatabase('ecg_isolated') : undefined;
  if (scratch) await runMigrations(scratch.url);
  const config = loadConfig({
    FASTAPI_BASE_URL: PUBLIC_BASE,
    DATA_DIR: dir,
    DATABASE_URL: scratch?.url ?? testDatabaseUrl(),
    MODEL_SERVER_URL: 'http://ml.test',
    LOG_LEVEL: 'silent',
    RATE_LIMIT_PER_MINUTE: '1000',
    // Tests upload far more than a client may in an hour; test/security sets these limits itself.
    UPLOAD_URLS_PER_HOUR: '0',
    UPLOAD_BYTES_PER_HOUR: '0',
    ...env,
  });
  const logLines = options.logLines;
  const logger = logLines ? createLogger('info', (line) => logLines.push(line)) : createLogger('silent');
  const database = createDatabase(config.databaseUrl!, { max: 4, applicationName: 'ecg-test-app' });
  const embedded = createEmbeddedStorage({
    dir: join(dir, 'storage'),
    publicBaseUrl: config.publicBaseUrl,
    secret: 'test-storage-secret-0123456789',
    maxBytes: config.storage.maxUploadBytes,
  });
  const storage = options.storage ?? embedded;
  const mlCalls: TestApp['mlCalls'] = [];
  const mlApp = new Hono();
  mlApp.post('/api/upload-video/process-video', async (c) => {
    const body = await c.req.json<Record<string, unknown>>();
    mlCalls.push({ body });
    if (mlAnswer) return mlAnswer(body);
    return c.json({ job_id: body.job_id, status: 'processing', message: 'started' });
  });
  mlApp.get('/health', (c) => c.json({ status: 'healthy' }));
  const ml = createMlServerClient({ baseUrl: 'http://ml.test', timeoutMs: 2000, fetch: (input: RequestInfo | URL, init?: RequestInit) => Promise.resolve(mlApp.fetch(new Request(input, init))) });
  const events = await createJobEvents(database.sql);
  const dispatcher = createDispatcher({ config, db: database.db, storage, ml, logger });
  const app = createApp({ config, database, storage, storageRoutes: options.storage ? undefined : embeddedStorageRoutes(embedded), ml, events, logger });
  // Every exchange is checked against the committed spec (test/support/contract.ts).
  const fetchApp = contractFetch((req: Request) => Promise.resolve(app.fetch(req)));
  const client = createClient<paths>({ baseUrl: PUBLIC_BASE, fetch: (req: Request) => fetchApp(req) });

  return {
    app,
    client,
    config,
    fetch: fetchApp,
    database,
    dispatcher,
    storage,
    mlCalls,
    async upload(bytes = new Uint8Array(1024).fill(7), filename = 'clip.mp4', contentType = 'video/mp4', token?: string) {
      const { data, response } = await client.POST('/api/upload-video/generate-url', {
        body: { filename, content_type: contentType },
        ...(token ? { headers: { Authorization: `Bearer ${token}` } } : {}),
      });
      if (!data) throw new Error(`generate-url answered ${response.status}`);
      const put = await fetchApp(data.upload_url, { method: 'PUT', body: new Blob([bytes as Uint8Array<ArrayBuffer>]), headers: data.headers });
      if (put.status !== 200) throw new Error(`upload answered ${put.status}: ${await put.text()}`);
      return data.file_key;
    },
    async close() {
      await dispatcher.stop();
      await events.close();
      await database.close();
      await scratch?.drop();
      await rm(dir, { recursive: true, force: true });
    },
  };
}
