/** Real processes for end-to-end tests: the backend (`server/main.ts`), the fake ML server, any script that says when it is ready. */
import { type ChildProcess,spawn } from 'node:child_process';
import { createServer } from 'node:net';
import { join } from 'node:path';

const root = join(import.meta.dirname, '..', '..');

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address() as { port: number };
      s.close(() => resolve(port));
    });
  });
}

export interface Proc {
  url: string;
  port: number;
  child: ChildProcess;
  output: () => string;
  /** Sends the signal and waits for the exit. */
  kill(signal?: NodeJS.Signals): Promise<number | null>;
}

/** Spawns `node --import tsx script` and resolves once its output matches `ready`; it listens on `port`. */
export function spawnReady(script: string, env: Record<string, string>, ready: RegExp, port: number): Promise<Proc> {
  return new Promise((resolve, reject) => {
    // `node --import tsx` keeps it one process, so a SIGKILL really kills the service.
    const child = spawn(process.execPath, ['--import', 'tsx', script], { cwd: root, env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    const exited = new Promise<number | null>((r) => child.once('exit', (code) => r(code)));
    const timer = setTimeout(() => reject(new Error(`${script} did not start:\n${out}`)), 60_000);
    const onData = (d: Buffer) => {
      out += d.toString();
      if (ready.test(out)) {
        clearTimeout(timer);
        resolve({
          url: `http://127.0.0.1:${port}`,
          port,
          child,
          output: () => out,
          async kill(signal = 'SIGTERM') {
            if (child.exitCode === null && child.signalCode === null) child.kill(signal);
            return exited;
          },
        });
      }
    };
    child.stdout.on('data', onData);
    child.stderr.on('data', onData);
    child.once('exit', (code) => {
      clearTimeout(timer);
      if (!ready.test(out)) reject(new Error(`${script} exited with ${code}:\n${out}`));
    });
  });
}

export async function startBackend(env: Record<string, string>, port?: number): Promise<Proc> {
  const p = port ?? (await freePort());
  return spawnReady('server/main.ts', { PORT: String(p), HOST: '127.0.0.1', FASTAPI_BASE_URL: `http://127.0.0.1:${p}`, LOG_LEVEL: 'warn', ...env }, /ECG backend listening on/, p);
}

export async function startFakeMl(env: Record<string, string> = {}, port?: number): Promise<Proc> {
  const p = port ?? (await freePort());
  return spawnReady('test/fixtures/fake-ml-server.ts', { PORT: String(p), ...env }, /listening \d+/, p);
}
