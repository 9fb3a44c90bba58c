/**
 * Stopping with `npm start`. A process manager, or a person, stops `npm start` by signalling npm's
 * pid. npm passes the signal to the shell that runs the script, and the shell dies without passing
 * it on (and `tsx`, in development, sits between the shell and the server), so the server would keep
 * running, orphaned, with the embedded PostgreSQL. Under npm, the server therefore watches the
 * processes above it and drains as on SIGTERM when one of them is gone.
 */
import { readFileSync } from 'node:fs';

/** The parent of `pid`, from /proc (Linux); undefined elsewhere. */
function parentOf(pid: number): number | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // The command name (field 2) may hold spaces and parentheses: fields are counted after its last ')'.
    const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
    return Number.isInteger(ppid) ? ppid : undefined;
  } catch {
    return undefined;
  }
}

function isNpm(pid: number): boolean {
  try {
    return /(^|[/\0 ])npm(-cli\.js)?([\0 ]|$)/.test(readFileSync(`/proc/${pid}/cmdline`, 'utf8'));
  } catch {
    return false;
  }
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * Calls `onGone` once when npm, or any process between npm and this one, has exited. Does nothing
 * unless started by an npm script (`npm_lifecycle_event` set).
 *
 * @example
 * watchParents(() => void shutdown('npm stopped'));
 */
export function watchParents(onGone: () => void, env: NodeJS.ProcessEnv = process.env, intervalMs = 500): () => void {
  if (!env.npm_lifecycle_event) return () => {};
  // The processes from this one's parent up to npm (tsx, the shell, npm), never init nor above npm.
  const ancestors: number[] = [];
  for (let pid: number | undefined = process.ppid; pid !== undefined && pid > 1 && ancestors.length < 4; pid = parentOf(pid)) {
    ancestors.push(pid);
    if (isNpm(pid)) break;
  }
  const initialParent = process.ppid;
  const timer = setInterval(() => {
    if (process.ppid !== initialParent || ancestors.some((pid) => !alive(pid))) {
      clearInterval(timer);
      onGone();
    }
  }, intervalMs);
  timer.unref();
  return () => clearInterval(timer);
}
