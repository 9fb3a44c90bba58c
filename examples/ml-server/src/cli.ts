/**
 * `npx tsx examples/ml-server/src/cli.ts`: runs the reference ML server.
 *
 * Environment:
 * - `PORT` (default 8080), `HOST` (default 0.0.0.0)
 * - `ML_WEBHOOK_SECRET`: Standard Webhooks secret (`whsec_…`) to sign callbacks; unsigned without it
 * - `BACKEND_URL`: the backend's base URL, where v1.0 requests (no `fastapi_base_url`) call back
 * - `ML_BEHAVIOUR`: comma-separated flags to misbehave on purpose:
 *   `slow` (2 s per stage), `step=<ms>`, `duplicate`, `out-of-order`, `fail=<CODE>`, `dispatch-errors=<n>`,
 *   `unsigned`, `empty`; for example `ML_BEHAVIOUR=duplicate,out-of-order,step=500`
 */
import { type Behaviour, type Logger,startReferenceMlServer } from './server.js';

class UsageError extends Error {}

function parseBehaviour(flags: string | undefined): Behaviour {
  const behaviour: Behaviour = {};
  for (const flag of (flags ?? '').split(',').map((f) => f.trim()).filter(Boolean)) {
    const [name, value] = flag.split('=', 2) as [string, string | undefined];
    const int = () => {
      const n = Number(value);
      if (!Number.isInteger(n) || n < 0) throw new UsageError(`ML_BEHAVIOUR: ${name} needs a whole number, got "${value ?? ''}"`);
      return n;
    };
    switch (name) {
      case 'slow': behaviour.stepDelayMs = 2000; break;
      case 'step': behaviour.stepDelayMs = int(); break;
      case 'duplicate': behaviour.duplicateCallbacks = true; break;
      case 'out-of-order': behaviour.outOfOrder = true; break;
      case 'fail': behaviour.failWith = { code: value || 'PROCESSING_ERROR', message: 'Failed on purpose (ML_BEHAVIOUR=fail)' }; break;
      case 'dispatch-errors': behaviour.dispatchErrors = int(); break;
      case 'unsigned': behaviour.unsigned = true; break;
      case 'empty': behaviour.emptyResult = true; break;
      default: throw new UsageError(`ML_BEHAVIOUR: unknown flag "${name}" (known: slow, step=<ms>, duplicate, out-of-order, fail=<CODE>, dispatch-errors=<n>, unsigned, empty)`);
    }
  }
  return behaviour;
}

function jsonLogger(): Logger {
  const at = (level: string) => (msg: string, fields: Record<string, unknown> = {}) =>
    process.stdout.write(`${JSON.stringify({ time: new Date().toISOString(), level, msg, ...fields })}\n`);
  return { info: at('info'), warn: at('warn'), error: at('error') };
}

const env = process.env;
let behaviour: Behaviour;
let port: number;
try {
  behaviour = parseBehaviour(env.ML_BEHAVIOUR);
  port = Number(env.PORT ?? 8080);
  if (!Number.isInteger(port) || port < 0 || port > 65535) throw new UsageError(`PORT must be a port number, got "${env.PORT}"`);
} catch (err) {
  if (!(err instanceof UsageError)) throw err;
  process.stderr.write(`${err.message}\n`);
  process.exit(1);
}

const logger = jsonLogger();
const ml = await startReferenceMlServer({
  port,
  host: env.HOST || '0.0.0.0',
  logger,
  ...(env.ML_WEBHOOK_SECRET ? { secret: env.ML_WEBHOOK_SECRET } : {}),
  ...(env.BACKEND_URL ? { legacyCallbackBaseUrl: env.BACKEND_URL } : {}),
  behaviour,
});
logger.info('ready', { url: ml.url, signed: Boolean(env.ML_WEBHOOK_SECRET) && !behaviour.unsigned, behaviour });

const stop = async (signal: string) => {
  logger.info('shutting down', { signal });
  await ml.close();
  process.exit(0);
};
process.once('SIGTERM', () => void stop('SIGTERM'));
process.once('SIGINT', () => void stop('SIGINT'));
