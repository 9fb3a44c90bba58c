/**
 * postgres.js 3.4.9 can throw from a `setImmediate` when the server closes a connection while a small
 * write is buffered ("Cannot read properties of null (reading 'write')" in `nextWrite`,
 * porsager/postgres#1154 and #1208, not fixed in a release yet). Nothing can catch it, and it would
 * end the process on every database restart. The query it belonged to has already been failed with
 * CONNECTION_CLOSED, so that one exception is logged and the process goes on; every other uncaught
 * exception still ends the process, as Node would.
 */
import type { Logger } from './logger.js';

export function isPostgresNullSocketWrite(err: unknown): boolean {
  return (
    err instanceof TypeError &&
    /reading 'write'/.test(err.message) &&
    /nextWrite/.test(err.stack ?? '') &&
    /[/\\]postgres[/\\]src[/\\]connection\.js/.test(err.stack ?? '')
  );
}

export function guardPostgresNullSocketWrite(logger: Logger): void {
  process.on('uncaughtException', (err) => {
    if (isPostgresNullSocketWrite(err)) {
      logger.warn('database connection lost mid-write (postgres.js); the query was failed and the pool reconnects', { error: err.message });
      return;
    }
    process.stderr.write(`${err.stack ?? String(err)}\n`);
    process.exit(1);
  });
}
