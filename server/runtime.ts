/**
 * Builds a running service from a `Config`: database (given or embedded), migrations, storage
 * (S3 or embedded), ML client, job events, dispatcher, the consumer-webhook worker, the sweepers
 * (unused uploads, multipart uploads, retention) and the app. `main.ts` serves it; tests that
 * need a real process use the same function.
 */
import { randomBytes } from 'node:crypto';
import { readFile, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import type { Hono } from 'hono';
import { createMlServerClient } from '@ecg/sdk/ml-client';
import { createApp } from './app.js';
import type { Config } from './config.js';
import { createDatabase, type DatabaseHandle } from './db/client.js';
import { runMigrations } from './db/migrate.js';
import { preparePrivateDir } from './embedded/data-dir.js';
import { type EmbeddedPostgresHandle, startEmbeddedPostgres } from './embedded/postgres.js';
import { loggableError } from './errors.js';
import { createMetrics, instrumentMl } from './http/metrics.js';
import type { ProbeState } from './http/probes.js';
import { scrapeSources } from './http/scrape-sources.js';
import { createDispatcher } from './jobs/dispatcher.js';
import { createJobEvents } from './jobs/events.js';
import { createRetentionSweeper } from './jobs/retention.js';
import { createJobStore } from './jobs/store.js';
import type { Logger } from './logger.js';
import { createEmbeddedStorage } from './storage/embedded.js';
import { embeddedStorageRoutes } from './storage/embedded.routes.js';
import { startMultipartSweeper } from './storage/multipart-sweeper.js';
import { createUploadSweeper } from './storage/sweeper.js';
import type { Storage } from './storage/types.js';
import { createWebhookWorker } from './webhooks/delivery.js';

/** A secret kept in DATA_DIR, made on first start: embedded storage URLs stay valid across restarts. */
async function dataDirSecret(dataDir: string, name: string): Promise<string> {
  const path = join(dataDir, name);
  try {
    return (await readFile(path, 'utf8')).trim();
  } catch {
    const secret = randomBytes(32).toString('base64url');
    await writeFile(path, secret + '\n', { mode: 0o600, flag: 'wx' }).catch(() => {});
    return (await readFile(path, 'utf8')).trim();
  }
}

export interface Runtime {
  app: ReturnType<typeof createApp>;
  config: Config;
  database: DatabaseHandle;
  storage: Storage;
  dispatcher: ReturnType<typeof createDispatcher>;
  /** Delivers consumer webhooks (server/webhooks/delivery.ts); started with the dispatcher. */
  webhooks: ReturnType<typeof createWebhookWorker>;
  embeddedPostgres: EmbeddedPostgresHandle | undefined;
  /** The first step of a shutdown: stop dispatching (requests in flight keep their lease) and end event streams. */
  drain(): Promise<void>;
  /** Stops the dispatcher, the listeners and the database (and the embedded Postgres, if ours). */
  close(): Promise<void>;
}

export async function createRuntime(config: Config, logger: Logger, opts: { startDispatcher?: boolean } = {}): Promise<Runtime> {
  const dataDir = resolve(config.dataDir);
  let embeddedPostgres: EmbeddedPostgresHandle | undefined;
  let databaseUrl = config.databaseUrl;
  if (!databaseUrl) {
    logger.info('starting embedded PostgreSQL', { data_dir: join(dataDir, 'postgres') });
    embeddedPostgres = await startEmbeddedPostgres({ dataDir, logger: (m, level) => (level === 'error' ? logger.warn('postgres', { line: m }) : logger.debug('postgres', { line: m })) });
    databaseUrl = embeddedPostgres.url;
  }
  try {
    await runMigrations(databaseUrl);
    const database = createDatabase(databaseUrl, { max: config.databasePoolSize });

    let storage: Storage;
    let storageRoutes: Hono | undefined;
    if (config.storage.bucket) {
      // Loaded only when configured: the AWS SDK alone takes about half a second to import.
      const { createS3Storage } = await import('./storage/s3.js');
      storage = createS3Storage({
        bucket: config.storage.bucket,
        region: config.storage.region,
        ...(config.storage.endpoint ? { endpoint: config.storage.endpoint } : {}),
        forcePathStyle: config.storage.forcePathStyle,
        ...(config.storage.accessKeyId && config.storage.secretAccessKey
          ? { accessKeyId: config.storage.accessKeyId, secretAccessKey: config.storage.secretAccessKey }
          : {}),
      });
    } else {
      // The embedded PostgreSQL, when it runs, has already made DATA_DIR private (for its OS user, as root).
      if (!embeddedPostgres) await preparePrivateDir(dataDir);
      const embedded = createEmbeddedStorage({
        dir: join(dataDir, 'storage'),
        publicBaseUrl: config.publicBaseUrl,
        secret: await dataDirSecret(dataDir, 'storage.secret'),
        maxBytes: config.storage.maxUploadBytes,
      });
      await embedded.ready();
      storage = embedded;
      storageRoutes = embeddedStorageRoutes(embedded, { uploadIdleTimeoutMs: config.http.uploadIdleTimeoutMs });
    }

    const metrics = createMetrics(scrapeSources(database, config.databasePoolSize));
    const ml = instrumentMl(
      createMlServerClient({
        baseUrl: config.ml.baseUrl ?? 'http://127.0.0.1:8080',
        timeoutMs: config.ml.timeoutMs,
        version: config.ml.apiVersion,
      }),
      metrics,
    );
    const events = await createJobEvents(database.sql);
    const dispatcher = createDispatcher({ config, db: database.db, storage, ml, logger, metrics });
    const probeState: ProbeState = { draining: false };
    const app = createApp({ config, database, storage, storageRoutes, ml, events, logger, onJobCreated: dispatcher.wake, metrics, probeState });
    const webhooks = createWebhookWorker({ config, sql: database.sql, logger, metrics });
    if (opts.startDispatcher !== false) {
      dispatcher.start();
      webhooks.start();
    }
    const sweeper = createUploadSweeper({ storage, db: database.db, logger, retentionMs: config.uploads.retentionMs });
    sweeper.start();
    const retention = createRetentionSweeper({
      jobs: createJobStore(database.db),
      storage,
      logger,
      retentionMs: config.retention.ms,
      deleteJobs: config.retention.deleteJobs,
    });
    retention.start();
    const stopMultipartSweeper = startMultipartSweeper(storage, {
      maxAgeMs: config.uploads.multipartMaxAgeMs,
      onError: (err) => logger.warn('multipart sweep failed', { error: loggableError(err) }),
    });

    return {
      app,
      config,
      database,
      storage,
      dispatcher,
      webhooks,
      embeddedPostgres,
      async drain() {
        probeState.draining = true;
        stopMultipartSweeper();
        await Promise.all([dispatcher.stop(), webhooks.stop(), sweeper.stop(), retention.stop(), events.close().catch(() => {})]);
      },
      async close() {
        await dispatcher.stop();
        await webhooks.stop();
        await sweeper.stop();
        await retention.stop();
        stopMultipartSweeper();
        await events.close().catch(() => {});
        await storage.close?.();
        await database.close();
        await embeddedPostgres?.stop();
      },
    };
  } catch (err) {
    await embeddedPostgres?.stop();
    throw err;
  }
}
