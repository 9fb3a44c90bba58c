/** Child processes of the bench: started in their own process group, awaited on a URL, stopped by id. */
import { type ChildProcess,spawn } from 'node:child_process';
import { createWriteStream } from 'node:fs';
import { readdir, readFile } from 'node:fs/promises';
import { createServer } from 'node:net';

export interface Started {
  name: string;
  child: ChildProcess;
  logFile: string;
  /** The serving processes: the leaves of the process tree started here. */
  servingPids(): Promise<number[]>;
  stop(): Promise<void>;
}

/** A free port on 127.0.0.1 (the OS picks it; the bench hands it to the process it starts). */
export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

async function childrenOf(): Promise<Map<number, number[]>> {
  const children = new Map<number, number[]>();
  for (const entry of await readdir('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    const stat = await readFile(`/proc/${entry}/stat`, 'utf8').catch(() => '');
    // The command name may hold spaces and parentheses: the fields after the last ")" are safe.
    const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
    if (!Number.isFinite(ppid)) continue;
    children.set(ppid, [...(children.get(ppid) ?? []), Number(entry)]);
  }
  return children;
}

/** esbuild's service process, which tsx starts beside the code it runs: a helper, not the server. */
async function isHelper(pid: number): Promise<boolean> {
  return (await readFile(`/proc/${pid}/comm`, 'utf8').catch(() => '')).trim() === 'esbuild';
}

/** The processes that do the work: `npm start` is npm, a shell, tsx and then the server itself. */
async function leaves(root: number): Promise<number[]> {
  const all = await childrenOf();
  const children = new Map<number, number[]>();
  for (const [ppid, kids] of all) {
    const helpers = await Promise.all(kids.map(isHelper));
    children.set(ppid, kids.filter((_, i) => !helpers[i]));
  }
  const out: number[] = [];
  const walk = (pid: number) => {
    const kids = children.get(pid) ?? [];
    if (kids.length === 0) out.push(pid);
    kids.forEach(walk);
  };
  walk(root);
  return out;
}

async function statusKiB(pid: number, field: 'VmRSS' | 'VmHWM'): Promise<number> {
  const status = await readFile(`/proc/${pid}/status`, 'utf8').catch(() => '');
  return Number(status.match(new RegExp(`^${field}:\\s+(\\d+) kB`, 'm'))?.[1] ?? 0);
}

/** Resident memory (VmRSS) and its peak so far (VmHWM) of `pids`, summed, in KiB. */
export async function memoryOf(pids: number[]): Promise<{ rssKiB: number; hwmKiB: number }> {
  const rss = await Promise.all(pids.map((p) => statusKiB(p, 'VmRSS')));
  const hwm = await Promise.all(pids.map((p) => statusKiB(p, 'VmHWM')));
  return { rssKiB: rss.reduce((a, b) => a + b, 0), hwmKiB: hwm.reduce((a, b) => a + b, 0) };
}

export function start(name: string, command: string, args: string[], opts: { cwd: string; env: NodeJS.ProcessEnv; logFile: string }): Started {
  const log = createWriteStream(opts.logFile);
  const child = spawn(command, args, { cwd: opts.cwd, env: opts.env, detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
  child.stdout?.pipe(log);
  child.stderr?.pipe(log);
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  return {
    name,
    child,
    logFile: opts.logFile,
    servingPids: () => leaves(child.pid!),
    async stop() {
      if (child.exitCode !== null || child.signalCode !== null) return;
      // The whole group this bench started (npm, its shell and the server), by its id.
      try {
        process.kill(-child.pid!, 'SIGTERM');
      } catch {
        return;
      }
      const timer = setTimeout(() => {
        try {
          process.kill(-child.pid!, 'SIGKILL');
        } catch {
          // already gone
        }
      }, 10_000);
      await exited;
      clearTimeout(timer);
      log.end();
    },
  };
}

/** Waits until `url` answers `expect` (or anything below 500 when not given), or the process exits. */
export async function waitReady(p: Started, url: string, timeoutMs = 60_000, pollMs = 200): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (p.child.exitCode !== null) break;
    const ok = await fetch(url).then((r) => (void r.body?.cancel(), r.status < 500), () => false);
    if (ok) return;
    await new Promise((r) => setTimeout(r, pollMs));
  }
  const tail = (await readFile(p.logFile, 'utf8').catch(() => '')).split('\n').slice(-20).join('\n');
  throw new Error(`${p.name} did not answer ${url} in time (exit code ${p.child.exitCode}); its log ends:\n${tail}`);
}
