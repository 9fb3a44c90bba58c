/**
 * Entry point: `npm start`. Parses the environment, starts the service (and, without
 * MODEL_SERVER_URL, the reference ML server beside it), and shuts down gracefully on SIGTERM/SIGINT.
 */
import { ConfigError, loadConfig, type Config } from './config.js';
import { authEnabled } from './http/auth.js';
import { createLogger } from './logger.js';
import { createRuntime } from './runtime.js';
import { serveWithLimits } from './serve.js';

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
let stopReferenceMl: (() => Promise<void>) | undefined;
if (!config.ml.baseUrl) {
  // Fresh machine: run the reference ML server beside the backend, so the whole flow works.
  const { startEmbeddedMlServer } = await import('./embedded/ml-server.js');
  const ml = await startEmbeddedMlServer(logger);
  config = { ...config, ml: { ...config.ml, baseUrl: ml.url } };
  stopReferenceMl = ml.close;
  logger.info('MODEL_SERVER_URL is not set: running the reference ML server', { url: ml.url });
}

const runtime = await createRuntime(config, logger);
if (!authEnabled(config.auth)) logger.warn('no JWT_SECRET or API_TOKENS: the API is open to anyone, as the original was');
if (!config.webhooks.secret) logger.info('no WEBHOOK_SECRET: ML callbacks are accepted only through per-job callback URLs');
if (!process.env.FASTAPI_BASE_URL && config.ml.baseUrl && !/^https?:\/\/(localhost|127\.0\.0\.1|\[::1\])[:/]/.test(config.ml.baseUrl)) {
  logger.warn('FASTAPI_BASE_URL is not set: the ML server is told to call back to a localhost URL it probably cannot reach', { callback_base: config.publicBaseUrl });
}

const server = serveWithLimits({ fetch: runtime.app.fetch, port: config.port, hostname: config.host, limits: config.http }, (info) => {
  const url = `http://${info.address === '0.0.0.0' || info.address === '::' ? 'localhost' : info.address}:${info.port}`;
  logger.info('ECG backend listening', { url, docs: `${url}/docs`, storage: runtime.storage.kind, database: runtime.embeddedPostgres ? 'embedded' : 'DATABASE_URL' });
  process.stdout.write(`ECG backend listening on ${url} (API reference: ${url}/docs)\n`);
});

let stopping = false;
async function shutdown(signal: string) {
  if (stopping) return;
  stopping = true;
  logger.info('shutting down', { signal });
  // Stop taking connections and dispatching, end event streams; requests in flight finish (up to 25 s),
  // then the rest closes.
  const closed = new Promise<void>((resolve) => server.close(() => resolve()));
  await runtime.drain();
  const force = setTimeout(() => (server as unknown as { closeAllConnections?: () => void }).closeAllConnections?.(), 25_000);
  force.unref();
  (server as unknown as { closeIdleConnections?: () => void }).closeIdleConnections?.();
  await closed;
  await runtime.close();
  await stopReferenceMl?.();
  logger.info('stopped');
  process.exit(0);
}
process.on('SIGTERM', () => void shutdown('SIGTERM'));
process.on('SIGINT', () => void shutdown('SIGINT'));
