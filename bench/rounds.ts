/**
 * One round measures every target once, each alone; `--rounds N` repeats it and keeps, per figure,
 * the round with the median throughput, so a burst of the machine's other work moves no ratio alone.
 */
import { completedStatus, completionCallbacks, type CompletionResult, type MeasureContext,progressCallbacks, statusPoll, statusPoll304 } from './measure.js';
import type { BenchResults, TargetResults } from './report.js';
import { requestProcess } from './request-process.js';
import { startBackend, startFloor, startPeer, type Target, type TargetContext } from './targets.js';
import type { WrkResult } from './wrk.js';

export type Round = Pick<BenchResults, 'backend' | 'peerResults' | 'floors'>;

export type WithTarget = <T>(name: string, start: () => Promise<Target>, body: (t: Target) => Promise<T>) => Promise<T | undefined>;

export interface RoundContext {
  tctx: TargetContext;
  mctx: MeasureContext;
  completedJob: string;
  peer: { ok: boolean; workers: number };
  mlHits: () => number;
  withTarget: WithTarget;
  step: (what: string) => void;
}

/**
 * The backend's figures: status 200 and 304 and the progress callback, then (unless `light`) the
 * completion posts and, last, request-process, whose new jobs are dispatched.
 */
export async function measureBackend(ctx: RoundContext, light = false): Promise<TargetResults | undefined> {
  const { mctx, step } = ctx;
  return ctx.withTarget('backend', () => startBackend(ctx.tctx), async (t) => {
    const hitsBefore = ctx.mlHits();
    const b: TargetResults & { mlServerRequests?: number } = t.startToHealthyMs === undefined ? {} : { startToHealthyMs: [t.startToHealthyMs] };
    step('backend: status 200');
    b.status200 = await statusPoll(mctx, t);
    step('backend: status 304');
    b.status304 = await statusPoll304(mctx, t);
    step('backend: progress callbacks');
    b.progress = await progressCallbacks(mctx, t);
    if (light) return b;
    step('backend: completion callbacks');
    b.completion = await completionCallbacks(mctx, t);
    b.completedStatus = await completedStatus(t, ctx.completedJob);
    b.mlServerRequests = ctx.mlHits() - hitsBefore;
    step('backend: request-process');
    b.requestProcess = await requestProcess(mctx, t);
    return b;
  });
}

export async function measureRound(ctx: RoundContext): Promise<Round> {
  const { mctx, step, withTarget } = ctx;
  const round: Round = { backend: (await measureBackend(ctx)) ?? {}, floors: {} };
  if (ctx.peer.ok) {
    round.peerResults = await withTarget('peer', () => startPeer(ctx.tctx, ctx.peer.workers), async (t) => {
      const p: TargetResults = {};
      step('peer: status 200');
      p.status200 = await statusPoll(mctx, t);
      step('peer: progress callbacks');
      p.progress = await progressCallbacks(mctx, t);
      step('peer: completion callbacks');
      p.completion = await completionCallbacks(mctx, t);
      p.completedStatus = await completedStatus(t, ctx.completedJob);
      return p;
    });
  }
  step('PK-read floor: status 200');
  round.floors.pkRead = await withTarget('PK-read floor', () => startFloor(ctx.tctx, 'pk-read'), (t) => statusPoll(mctx, t));
  step('static floor: status 304');
  round.floors.static = await withTarget('static floor', () => startFloor(ctx.tctx, 'static'), (t) => statusPoll304(mctx, t));
  step('write floor: progress callbacks');
  round.floors.write = await withTarget('write floor', () => startFloor(ctx.tctx, 'write'), (t) => progressCallbacks(mctx, t));
  step('notifying write floor: progress callbacks');
  round.floors.writeNotify = await withTarget('notifying write floor', () => startFloor(ctx.tctx, 'write-notify'), (t) => progressCallbacks(mctx, t));
  return round;
}

/** The run with the median throughput, carrying every round's figure (`roundsRps`). */
function medianRun<T extends WrkResult>(runs: Array<T | undefined>): T | undefined {
  const done = runs.filter((r): r is T => r !== undefined);
  if (done.length === 0) return undefined;
  const sorted = [...done].sort((a, b) => a.rps - b.rps);
  return { ...sorted[Math.floor((sorted.length - 1) / 2)]!, roundsRps: done.map((r) => r.rps) };
}

const medianOf = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  const mid = Math.floor(s.length / 2);
  return s.length % 2 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
};

/** All rounds' completion posts together; the memory (and the cold memory) of the round that grew most. */
function mergeCompletions(runs: Array<CompletionResult | undefined>): CompletionResult | undefined {
  const done = runs.filter((r): r is CompletionResult => r !== undefined);
  if (done.length === 0) return undefined;
  const timesMs = done.flatMap((r) => r.timesMs);
  const memory = done.reduce((a, b) => (b.memory.growthKiB > a.memory.growthKiB ? b : a)).memory;
  const colds = done.map((r) => r.cold).filter((m) => m !== undefined);
  const cold = colds.length ? colds.reduce((a, b) => (b.growthKiB > a.growthKiB ? b : a)) : undefined;
  return { runs: timesMs.length, bodyBytes: done[0]!.bodyBytes, timesMs, medianMs: medianOf(timesMs), maxMs: Math.max(...timesMs), failures: done.flatMap((r) => r.failures), memory, cold };
}

function mergeTarget(all: Array<TargetResults | undefined>): TargetResults {
  const statuses = all.map((t) => t?.completedStatus).filter((s) => s !== undefined);
  return {
    status200: medianRun(all.map((t) => t?.status200)),
    status304: medianRun(all.map((t) => t?.status304)),
    progress: medianRun(all.map((t) => t?.progress)),
    requestProcess: medianRun(all.map((t) => t?.requestProcess)),
    completion: mergeCompletions(all.map((t) => t?.completion)),
    completedStatus: statuses.length ? { medianMs: medianOf(statuses.map((s) => s.medianMs)), bytes: statuses[0]!.bytes } : undefined,
  };
}

export function combineRounds(rounds: Round[]): Round {
  const hits = rounds.map((r) => r.backend.mlServerRequests).filter((n) => n !== undefined);
  const peers = rounds.map((r) => r.peerResults).filter((p) => p !== undefined);
  return {
    backend: {
      ...mergeTarget(rounds.map((r) => r.backend)),
      ...(hits.length ? { mlServerRequests: Math.max(...hits) } : {}),
      startToHealthyMs: rounds.flatMap((r) => r.backend.startToHealthyMs ?? []),
    },
    ...(peers.length ? { peerResults: mergeTarget(peers) } : {}),
    floors: {
      pkRead: medianRun(rounds.map((r) => r.floors.pkRead)),
      static: medianRun(rounds.map((r) => r.floors.static)),
      write: medianRun(rounds.map((r) => r.floors.write)),
      writeNotify: medianRun(rounds.map((r) => r.floors.writeNotify)),
    },
  };
}
