/** Runs Debian's wrk against one URL with one of bench/lua's scripts and reads its result line. */
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';

export const WRK = '/usr/bin/wrk';

export interface WrkResult {
  requests: number;
  seconds: number;
  rps: number;
  p50Ms: number;
  p90Ms: number;
  p99Ms: number;
  maxMs: number;
  /** Non-2xx/3xx answers, as wrk counts them. */
  non2xx: number;
  socketErrors: number;
  /** What the script counted itself (`status_304`, `received`, ...). */
  counts: Record<string, number>;
  /** The first answer the script found wrong, if any. */
  sample?: string;
  /** CPU milliseconds per request of the target's processes and of the database's, during the measured run. */
  cpuMsPerRequest?: { target: number; database: number };
  /** With several rounds: each round's req/s (this result is the median round's). */
  roundsRps?: number[];
}

interface LuaResult {
  requests: number;
  duration_us: number;
  errors: { connect: number; read: number; write: number; status: number; timeout: number };
  latency_us: { p50: number; p90: number; p99: number; max: number };
  counts: Record<string, number>;
  sample?: string;
}

export interface WrkRun {
  root: string;
  url: string;
  script: 'status' | 'status-etag' | 'progress' | 'request-process';
  seconds: number;
  connections: number;
  threads: number;
  env: Record<string, string>;
}

export const wrkInstalled = () => existsSync(WRK);

function runOnce(run: WrkRun, seconds: number): Promise<WrkResult> {
  const lua = join(run.root, 'bench/lua');
  const args = ['-t', String(run.threads), '-c', String(run.connections), '-d', `${seconds}s`, '--timeout', '5s', '--latency', '-s', join(lua, `${run.script}.lua`), run.url];
  return new Promise((resolve, reject) => {
    execFile(WRK, args, { env: { ...process.env, ...run.env, BENCH_LUA_DIR: lua }, timeout: (seconds + 30) * 1000, maxBuffer: 1 << 20 }, (err, stdout, stderr) => {
      const line = stdout.split('\n').find((l) => l.startsWith('BENCH_RESULT '));
      if (err || !line) return reject(new Error(`wrk failed: ${err?.message ?? 'no result line'}\n${stdout}\n${stderr}`));
      const r = JSON.parse(line.slice('BENCH_RESULT '.length)) as LuaResult;
      const ms = (us: number) => us / 1000;
      const secs = r.duration_us / 1e6;
      resolve({
        requests: r.requests,
        seconds: secs,
        rps: r.requests / secs,
        p50Ms: ms(r.latency_us.p50),
        p90Ms: ms(r.latency_us.p90),
        p99Ms: ms(r.latency_us.p99),
        maxMs: ms(r.latency_us.max),
        non2xx: r.errors.status,
        socketErrors: r.errors.connect + r.errors.read + r.errors.write + r.errors.timeout,
        counts: r.counts,
        ...(r.sample !== undefined ? { sample: r.sample } : {}),
      });
    });
  });
}

/** A discarded warm-up run, then the measured one, with `around` told when the measured one starts and ends. */
export async function wrk(run: WrkRun, warmupSeconds: number, around?: () => Promise<() => Promise<void>>): Promise<WrkResult> {
  if (warmupSeconds > 0) await runOnce({ ...run, env: { ...run.env, BENCH_RUN: `${run.env.BENCH_RUN ?? 'run'}w` } }, warmupSeconds);
  const stop = await around?.();
  const result = await runOnce(run, run.seconds);
  await stop?.();
  return result;
}
