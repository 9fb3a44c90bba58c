/**
 * What a person reads when the service cannot start: one line that says what is wrong and what to
 * do, instead of a stack trace. `main.ts` prints it and exits with code 1 after stopping whatever it
 * had started (the embedded PostgreSQL, the reference ML server).
 */

interface ErrnoLike {
  code?: unknown;
  errno?: unknown;
  syscall?: unknown;
  address?: unknown;
  port?: unknown;
  hostname?: unknown;
  message?: unknown;
  errors?: unknown;
}

/** Where DATABASE_URL points, without its password. */
function describeDatabase(url: string | undefined): { where: string; host: string; port: string; user: string; name: string } {
  try {
    const u = new URL(url ?? '');
    const name = decodeURIComponent(u.pathname.replace(/^\//, '')) || decodeURIComponent(u.username) || 'postgres';
    return { where: `${u.hostname}:${u.port || '5432'}/${name}`, host: u.hostname, port: u.port || '5432', user: decodeURIComponent(u.username) || 'postgres', name };
  } catch {
    return { where: 'DATABASE_URL', host: 'localhost', port: '5432', user: 'postgres', name: 'ecg' };
  }
}

/** The first error of an AggregateError (postgres.js and Node's happy-eyeballs connect both use them). */
function first(err: unknown): ErrnoLike {
  const e = (err ?? {}) as ErrnoLike;
  if (Array.isArray(e.errors) && e.errors.length > 0 && !e.code) return first(e.errors[0]);
  return e;
}

export interface StartupContext {
  databaseUrl: string | undefined;
  port: number;
  host: string;
  /** What was being done when it failed. */
  stage: 'database' | 'listen' | 'start';
}

/**
 * One line for a start-up failure, with the fix.
 *
 * @example
 * explainStartupError(Object.assign(new Error('listen EADDRINUSE'), { code: 'EADDRINUSE' }), { port: 8000, host: '0.0.0.0', databaseUrl: undefined, stage: 'listen' });
 * // 'Port 8000 is already in use on 0.0.0.0: stop the other process (lsof -i :8000) or choose another PORT.'
 */
export function explainStartupError(err: unknown, ctx: StartupContext): string {
  const e = first(err);
  const code = typeof e.code === 'string' ? e.code : undefined;
  const message = typeof e.message === 'string' ? e.message : String(err);
  const db = describeDatabase(ctx.databaseUrl);
  switch (code) {
    case 'EADDRINUSE':
      return `Port ${ctx.port} is already in use on ${ctx.host}: stop the other process (lsof -i :${ctx.port}) or choose another PORT.`;
    case 'EACCES':
      if (ctx.stage === 'listen') return `Port ${ctx.port} needs privileges this process does not have: choose a PORT above 1023.`;
      break;
    case 'EADDRNOTAVAIL':
      return `HOST=${ctx.host} is not an address of this machine: use 0.0.0.0, 127.0.0.1 or one of its addresses.`;
    case 'ECONNREFUSED':
      return `The database at ${db.where} refused the connection: start PostgreSQL there, or fix DATABASE_URL (or unset it to use the embedded PostgreSQL).`;
    case 'ENOTFOUND':
    case 'EAI_AGAIN':
      return `The database host "${db.host}" cannot be resolved: fix DATABASE_URL.`;
    case 'ETIMEDOUT':
    case 'CONNECT_TIMEOUT':
      return `The database at ${db.where} did not answer in time: check that PostgreSQL runs there and that the network lets this machine reach it.`;
    case '3D000':
      return `The database "${db.name}" does not exist on ${db.host}:${db.port}: create it (createdb -h ${db.host} -p ${db.port} -U ${db.user} ${db.name}) or fix DATABASE_URL.`;
    case '28P01':
    case '28000':
      return `PostgreSQL at ${db.host}:${db.port} refused user "${db.user}" (${message}): fix the user or password in DATABASE_URL.`;
    case '42501':
      return `User "${db.user}" may not create the tables in "${db.name}" (${message}): grant it CREATE on the database, or use its owner in DATABASE_URL.`;
    case '57P03':
      return `The database at ${db.where} is starting up or shutting down: try again in a moment.`;
  }
  if (ctx.stage === 'database') return `The database at ${db.where} could not be prepared: ${message}`;
  return `The service could not start: ${message}`;
}
