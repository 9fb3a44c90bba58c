/** The measurements of one target: status polls (200 and 304), progress callbacks, completion callbacks. */
import { randomBytes } from 'node:crypto';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { countCpu, type CpuUse } from './cpu.js';
import type { BenchDatabase } from './database.js';
import type { BenchOptions } from './options.js';
import { type bigResult,completionBody, signedHeaders } from './payload.js';
import { memoryOf } from './processes.js';
import type { Target } from './targets.js';
import { wrk, type WrkResult, type WrkRun } from './wrk.js';

export interface MeasureContext {
  root: string;
  tmp: string;
  opts: BenchOptions;
  db: BenchDatabase;
  jobs: string[];
  webhookSecret: string;
  result: ReturnType<typeof bigResult>;
}

/** Whether a wrk run is clean: no error answers, no socket errors, and what the script checked was right. */
export function problems(r: WrkResult): string[] {
  const out: string[] = [];
  if (r.non2xx > 0) out.push(`${r.non2xx} non-2xx/3xx answers`);
  if (r.socketErrors > 0) out.push(`${r.socketErrors} socket errors`);
  if ((r.counts.other ?? 0) > 0) out.push(`${r.counts.other} answers not "received" (first: ${r.sample ?? '?'})`);
  return out;
}

async function jobsFile(ctx: MeasureContext, name: string, etags?: string[]): Promise<string> {
  const path = join(ctx.tmp, `${name}.jobs`);
  await writeFile(path, ctx.jobs.map((id, i) => `${id}\t${etags?.[i] ?? ''}`).join('\n') + '\n');
  return path;
}

export async function run(ctx: MeasureContext, target: Target, url: string, script: WrkRun['script'], env: Record<string, string>): Promise<WrkResult> {
  const pids = await target.servingPids();
  let cpu: CpuUse | undefined;
  const result = await wrk({ root: ctx.root, url, script, seconds: ctx.opts.duration, connections: ctx.opts.connections, threads: ctx.opts.threads, env }, ctx.opts.warmup, async () => {
    const stop = await countCpu(pids, ctx.db.sql, ctx.db.name);
    return async () => void (cpu = await stop());
  });
  if (!cpu || result.requests === 0) return result;
  return { ...result, cpuMsPerRequest: { target: cpu.targetMs / result.requests, database: cpu.databaseMs / result.requests } };
}

/** The keys of getJobStatus's answer for a processing job (openapi/v1.1/backend.yaml, JobStatusResponse): the required ones and the two live ones. */
const STATUS_KEYS = ['created_at', 'current_stage', 'estimated_time_remaining', 'job_id', 'language', 'message', 'progress', 'status', 'updated_at'];

/** One answer read before the load: the same body shape from every target, or the run is refused. */
async function checkStatusBody(target: Target, id: string): Promise<void> {
  const res = await fetch(`${target.baseUrl}/api/upload-video/status/${id}`);
  const body = (await res.json()) as Record<string, unknown>;
  const keys = Object.keys(body).sort().join(',');
  if (res.status !== 200 || keys !== STATUS_KEYS.join(',') || body.job_id !== id) {
    throw new Error(`the status answer is not the status body: ${res.status} ${JSON.stringify(body).slice(0, 300)}`);
  }
}

export async function statusPoll(ctx: MeasureContext, target: Target): Promise<WrkResult> {
  await checkStatusBody(target, ctx.jobs[0]!);
  return run(ctx, target, target.baseUrl, 'status', { BENCH_JOBS: await jobsFile(ctx, `${target.name}-status`) });
}

/** With the ETag each job answers right now; undefined when the target sends none. */
export async function statusPoll304(ctx: MeasureContext, target: Target): Promise<WrkResult | undefined> {
  const etags = await Promise.all(
    ctx.jobs.map(async (id) => {
      const res = await fetch(`${target.baseUrl}/api/upload-video/status/${id}`);
      await res.arrayBuffer();
      return res.headers.get('etag') ?? '';
    }),
  );
  if (etags.some((e) => e === '')) return undefined;
  return run(ctx, target, target.baseUrl, 'status-etag', { BENCH_JOBS: await jobsFile(ctx, `${target.name}-etag`, etags) });
}

export interface ProgressResult extends WrkResult {
  /** job_events rows written during the warm-up and the measured run. */
  eventsWritten: number;
}

export async function progressCallbacks(ctx: MeasureContext, target: Target): Promise<ProgressResult> {
  const secret = ctx.webhookSecret.replace(/^whsec_/, '');
  const count = async () => (await ctx.db.sql<{ n: number }[]>`select count(*)::int as n from job_events`)[0]?.n ?? 0;
  const before = await count();
  const r = await run(ctx, target, target.baseUrl, 'progress', {
    BENCH_JOBS: await jobsFile(ctx, `${target.name}-progress`),
    BENCH_SECRET_HEX: Buffer.from(secret, 'base64').toString('hex'),
    BENCH_RUN: `${target.name.replace(/\W+/g, '')}${randomBytes(4).toString('hex')}`,
  });
  return { ...r, eventsWritten: (await count()) - before };
}

type Memory = { rssBeforeKiB: number; rssAfterKiB: number; peakKiB: number; growthKiB: number };

export interface CompletionResult {
  runs: number;
  bodyBytes: number;
  timesMs: number[];
  medianMs: number;
  maxMs: number;
  failures: string[];
  /** Over the measured posts, after the warm-up post. */
  memory: Memory;
  /** The warm-up post alone, the process's first large body (with `--warmup 0`: none, and `memory` is cold). */
  cold?: Memory | undefined;
}

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  const mid = Math.floor(s.length / 2);
  return s.length % 2 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
};

/** Completion posts of `count` fresh jobs, one after another, with the server's memory sampled meanwhile. */
async function postCompletions(ctx: MeasureContext, target: Target, count: number): Promise<{ bodyBytes: number; timesMs: number[]; failures: string[]; memory: Memory }> {
  const bodies: { id: string; body: string }[] = [];
  for (let i = 0; i < count; i++) {
    const id = await ctx.db.newJob();
    bodies.push({ id, body: completionBody(id, ctx.result) });
  }
  const pids = await target.servingPids();
  const before = await memoryOf(pids);
  let sampledPeak = before.rssKiB;
  const sampler = setInterval(() => {
    void memoryOf(pids).then((m) => (sampledPeak = Math.max(sampledPeak, m.rssKiB)));
  }, 20);
  const timesMs: number[] = [];
  const failures: string[] = [];
  try {
    for (const { id, body } of bodies) {
      const headers = signedHeaders(ctx.webhookSecret, `msg_completion_${randomBytes(8).toString('hex')}`, body);
      const started = performance.now();
      const res = await fetch(`${target.baseUrl}/api/upload-video/result`, { method: 'POST', headers, body });
      const text = await res.text();
      timesMs.push(performance.now() - started);
      if (res.status !== 200 || !text.includes('"status":"received"')) failures.push(`${id}: ${res.status} ${text.slice(0, 200)}`);
    }
  } finally {
    clearInterval(sampler);
  }
  const after = await memoryOf(pids);
  // VmHWM is the peak since the process started: it says more than the samples only if it rose here.
  const peakKiB = after.hwmKiB > before.hwmKiB ? after.hwmKiB : Math.max(sampledPeak, after.rssKiB);
  return {
    bodyBytes: Buffer.byteLength(bodies[0]?.body ?? ''),
    timesMs,
    failures,
    memory: { rssBeforeKiB: before.rssKiB, rssAfterKiB: after.rssKiB, peakKiB, growthKiB: peakKiB - before.rssKiB },
  };
}

/**
 * N sequential 60-minute completion callbacks, each to a fresh job. Like every other figure they
 * follow a warm-up (unless `--warmup 0`): one completion post, not timed, whose memory growth is
 * kept apart as the cold figure. It holds what a process sets up on its first large body and keeps
 * (the backend's pooled body buffer, code compiled on first use; the peer's allocator arenas).
 */
export async function completionCallbacks(ctx: MeasureContext, target: Target): Promise<CompletionResult> {
  const warm = ctx.opts.warmup > 0 ? await postCompletions(ctx, target, 1) : undefined;
  const measured = await postCompletions(ctx, target, ctx.opts.completions);
  return {
    runs: measured.timesMs.length,
    bodyBytes: measured.bodyBytes,
    timesMs: measured.timesMs,
    medianMs: median(measured.timesMs),
    maxMs: Math.max(...measured.timesMs),
    failures: [...(warm?.failures.map((f) => `warm-up ${f}`) ?? []), ...measured.failures],
    memory: measured.memory,
    cold: warm?.memory,
  };
}

/** GETs of the completed 60-minute job: what the first poll after completion costs (sequential). */
export async function completedStatus(target: Target, id: string, times = 5): Promise<{ medianMs: number; bytes: number }> {
  const ms: number[] = [];
  let bytes = 0;
  for (let i = 0; i < times; i++) {
    const started = performance.now();
    const res = await fetch(`${target.baseUrl}/api/upload-video/status/${id}`);
    bytes = (await res.arrayBuffer()).byteLength;
    ms.push(performance.now() - started);
    if (res.status !== 200) throw new Error(`${target.name}: the completed job's status answered ${res.status}`);
  }
  return { medianMs: median(ms), bytes };
}
