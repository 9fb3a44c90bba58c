/**
 * Entry point: `npm start`. Parses the environment, starts the service (and, without
 * MODEL_SERVER_URL, the reference ML server beside it), and shuts down gracefully on SIGTERM/SIGINT,
 * or when the `npm start` above it is stopped. A failure to start prints one line with the fix
 * (server/startup-errors.ts), stops what was started and exits with code 1.
 */
import type { ServerType } from '@hono/node-server';
import { type Config,ConfigError, loadConfig } from './config.js';
import { authEnabled } from './http/auth.js';
import { createLogger } from './logger.js';
import { watchParents } from './parent-watch.js';
import { guardPostgresNullSocketWrite } from './pg-crash-guard.js';
import { createRuntime, type Runtime } from './runtime.js';
import { serveWithLimits } from './serve.js';
import { explainStartupError, type StartupContext } from './startup-errors.js';

let config: Config;
try {
  config = loadConfig(process.env);
} catch (err) {
  if (err instanceof ConfigError) {
    process.stderr.write(`${err.message}\n`);
    process.exit(1);
  }
  throw err;
}

const logger = createLogger(config.logLevel);
guardPostgresNullSocketWrite(logger);
let stopReferenceMl: (() => Promise<void>) | undefined;
/** What was started so far, for giveUp to stop. */
const started: { runtime?: Runtime } = {};

/** Prints the one line, stops what was started, exits 1. */
async function giveUp(err: unknown, stage: StartupContext['stage']): Promise<never> {
  const line = explainStartupError(err, { databaseUrl: config.databaseUrl, port: config.port, host: config.host, stage });
  logger.debug('start-up failure', { error: err instanceof Error ? err.stack : String(err) });
  process.stderr.write(`ECG backend cannot start: ${line}\n`);
  await started.runtime?.close().catch(() => {});
  await stopReferenceMl?.().catch(() => {});
  process.exit(1);
}

if (!config.ml.baseUrl) {
  if (config.ops.production && !config.ops.allowReferenceMlServer) {
    process.stderr.write(
      'ECG backend cannot start: NODE_ENV=production and no MODEL_SERVER_URL: set MODEL_SERVER_URL to your ML server, or ALLOW_REFERENCE_ML_SERVER=true to run the reference ML server (made-up transcripts) on purpose.\n',
    );
    process.exit(1);
  }
  // Fresh machine: run the reference ML server beside the backend, so the whole flow works.
  const { startEmbeddedMlServer } = await import('./embedded/ml-server.js');
  const ml = await startEmbeddedMlServer(logger).catch((err: unknown) => giveUp(err, 'start'));
  config = { ...config, ml: { ...config.ml, baseUrl: ml.url }, ops: { ...config.ops, referenceMlServer: true } };
  stopReferenceMl = () => ml.close();
  logger.warn('MODEL_SERVER_URL is not set: jobs go to the reference ML server, whose transcripts are MADE UP (not a model); set MODEL_SERVER_URL to your ML server', { url: ml.url });
}

const service = await createRuntime(config, logger).catch((err: unknown) => giveUp(err, 'database'));
started.runtime = service;
if (!authEnabled(config.auth)) logger.warn('no JWT_SECRET or API_TOKENS: the API is open to anyone, as the original was');
if (!config.webhooks.secret) logger.info('no WEBHOOK_SECRET: ML callbacks are accepted only through per-job callback URLs');
if (!process.env.FASTAPI_BASE_URL && config.ml.baseUrl && !/^https?:\/\/(localhost|127\.0\.0\.1|\[::1\])[:/]/.test(config.ml.baseUrl)) {
  logger.warn('FASTAPI_BASE_URL is not set: the ML server is told to call back to a localhost URL it probably cannot reach', { callback_base: config.publicBaseUrl });
}

// The start-up line is written whatever LOG_LEVEL says (but silent): it is how people and scripts know the service is up.
const startupLogger = createLogger(config.logLevel === 'silent' ? 'silent' : 'info');
const server: ServerType = serveWithLimits(
  { fetch: service.app.fetch, hotPaths: service.app.hotPaths, port: config.port, hostname: config.host, limits: config.http },
  (info) => {
    const url = `http://${info.address === '0.0.0.0' || info.address === '::' ? 'localhost' : info.address}:${info.port}`;
    startupLogger.info(`ECG backend listening on ${url}`, {
      url,
      docs: `${url}/docs`,
      storage: service.storage.kind,
      database: service.embeddedPostgres ? 'embedded' : 'DATABASE_URL',
      ml_server: config.ops.referenceMlServer ? 'reference (made-up transcripts)' : config.ml.baseUrl,
    });
  },
  (err) => void giveUp(err, 'listen'),
);

let stopping = false;
async function shutdown(signal: string) {
  if (stopping) return;
  stopping = true;
  logger.info('shutting down', { signal });
  // Stop taking connections and dispatching, end event streams; requests in flight finish (up to 25 s),
  // then the rest closes.
  const closed = new Promise<void>((resolve) => server.close(() => resolve()));
  await service.drain();
  const force = setTimeout(() => (server as unknown as { closeAllConnections?: () => void }).closeAllConnections?.(), 25_000);
  force.unref();
  (server as unknown as { closeIdleConnections?: () => void }).closeIdleConnections?.();
  await closed;
  await service.close();
  await stopReferenceMl?.();
  logger.info('stopped');
  process.exit(0);
}
process.on('SIGTERM', () => void shutdown('SIGTERM'));
process.on('SIGINT', () => void shutdown('SIGINT'));
watchParents(() => void shutdown('npm start stopped'));
