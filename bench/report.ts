/** Printing the figures and their ratios, and the JSON copy in .tmp/. */
import type { CompletionResult, ProgressResult } from './measure.js';
import { problems } from './measure.js';
import type { Explained } from './queries.js';
import type { RequestProcessResult } from './request-process.js';
import type { WrkResult } from './wrk.js';

export interface TargetResults {
  status200?: WrkResult | undefined;
  status304?: WrkResult | undefined;
  progress?: ProgressResult | undefined;
  completion?: CompletionResult | undefined;
  completedStatus?: { medianMs: number; bytes: number } | undefined;
  /** Backend only: from spawning `npm start` to the first healthy answer, each start in turn. */
  startToHealthyMs?: number[] | undefined;
  /** Backend only (the peer has no upload flow): for the capacity model. */
  requestProcess?: RequestProcessResult | undefined;
}

export interface BenchResults {
  startedAt: string;
  machine: { cpu: string; cores: number; node: string; postgres: string; loadAverageStart: number; loadAverageEnd?: number };
  options: Record<string, unknown>;
  database: { jobs: number; extraFinishedRows: number };
  peer: { available: boolean; detail: string; workers: number };
  explain: Explained[];
  backend: TargetResults & { mlServerRequests?: number };
  peerResults?: TargetResults;
  floors: { pkRead?: WrkResult | undefined; static?: WrkResult | undefined; write?: ProgressResult | undefined; writeNotify?: ProgressResult | undefined };
  /** Targets that could not be measured, with why. */
  failures: string[];
  /** Distinct stored results and raw results over the jobs completed by the completion posts of every target. */
  storedResults?: { results: number; raw: number; jobs: number };
  /** With `--rows`: the backend measured on the seeded jobs alone, before the table was filled. */
  emptyTable?: TargetResults | undefined;
  /** Every round as measured, when there were several. */
  rounds?: Array<Pick<BenchResults, 'backend' | 'peerResults' | 'floors'>>;
}

const num = (n: number, digits = 0) => n.toLocaleString('en-US', { minimumFractionDigits: digits, maximumFractionDigits: digits });
const mb = (kib: number) => `${num(kib / 1024, 0)} MB`;

function row(label: string, who: string, r: WrkResult | undefined, note = ''): string {
  const head = `  ${label.padEnd(14)}${who.padEnd(18)}`;
  if (!r) return `${head}${note || '(not run)'}`;
  const errs = problems(r);
  const extra = [
    r.counts.status_304 !== undefined ? `${num(r.counts.status_304)} answered 304, ${num(r.counts.status_200 ?? 0)} answered 200` : '',
    'eventsWritten' in r ? `${num((r as ProgressResult).eventsWritten)} events written` : '',
    'jobsCreated' in r ? `${num((r as RequestProcessResult).jobsCreated)} jobs created` : '',
  ].filter(Boolean);
  const range = r.roundsRps && r.roundsRps.length > 1 ? ` (rounds ${r.roundsRps.map((x) => num(x)).join(', ')})` : '';
  const cpu = r.cpuMsPerRequest ? `   CPU/req ${num(r.cpuMsPerRequest.target, 2).padStart(5)} + db ${num(r.cpuMsPerRequest.database, 2).padStart(4)} ms` : '';
  return `${head}${num(r.rps).padStart(8)} req/s   p50 ${num(r.p50Ms, 2).padStart(7)} ms   p99 ${num(r.p99Ms, 2).padStart(7)} ms${cpu}   ${
    errs.length ? `ERRORS: ${errs.join('; ')}` : 'no errors'}${extra.length ? `; ${extra.join('; ')}` : ''}${range}`;
}

const ratio = (a: number | undefined, b: number | undefined) => (a !== undefined && b !== undefined && b > 0 ? `${num(a / b, 2)}x` : 'n/a');

/** Memory growth over the payload. */
const times = (m: { growthKiB: number }, c: CompletionResult) => `${num((m.growthKiB * 1024) / c.bodyBytes, 1)}x`;

function completionLine(who: string, c: CompletionResult | undefined, note: string): string {
  if (!c) return `  ${who.padEnd(10)}${note}`;
  const m = c.memory;
  const fail = c.failures.length ? `  ERRORS: ${c.failures.length} of ${c.runs} not "received" (first: ${c.failures[0]})` : '';
  const cold = c.cold ? `; cold, the warm-up post: growth ${mb(c.cold.growthKiB)} = ${times(c.cold, c)} the payload` : '';
  return `  ${who.padEnd(10)}median ${num(c.medianMs)} ms, max ${num(c.maxMs)} ms; RSS ${mb(m.rssBeforeKiB)} before, peak ${mb(m.peakKiB)}, ${mb(m.rssAfterKiB)} after (growth ${mb(m.growthKiB)} = ${times(m, c)} the payload)${cold}${fail}`;
}

export function printReport(r: BenchResults): void {
  const b = r.backend;
  const p = r.peerResults;
  const f = r.floors;
  const peerNote = r.peer.available ? '' : '(skipped: peer not installed)';
  console.log('');
  console.log(`Results (req/s from wrk, ${String(r.options.connections)} connections, ${String(r.options.duration)} s each after ${String(r.options.warmup)} s warm-up; p50/p99 from wrk --latency; CPU/req: ms of CPU the target's processes + the database's spent per request${
    Number(r.options.rounds) > 1 ? `; per figure the round with the median req/s of ${String(r.options.rounds)}` : ''})`);
  console.log(row('status 200', 'backend', b.status200));
  console.log(row('', 'peer (FastAPI)', p?.status200, peerNote));
  console.log(row('', 'PK-read floor', f.pkRead));
  console.log(row('status 304', 'backend', b.status304));
  console.log(row('', 'peer (FastAPI)', undefined, r.peer.available ? '(none: the peer sends no ETag)' : peerNote));
  console.log(row('', 'static floor', f.static));
  console.log(row('progress cb', 'backend', b.progress));
  console.log(row('', 'peer (FastAPI)', p?.progress, peerNote));
  console.log(row('', 'write floor', f.write));
  console.log(row('', 'notifying floor', f.writeNotify));
  console.log(row('request-proc', 'backend', b.requestProcess, '(not run)'));
  console.log(row('', 'peer (FastAPI)', undefined, '(none: the peer has no upload flow; for the capacity model only)'));
  const c = b.completion;
  console.log('');
  console.log(`60-minute completion callback (${c ? num(c.bodyBytes / 1024 / 1024, 2) : '?'} MB, ${String(c?.runs ?? r.options.completions)} sequential signed posts, each to a fresh job, after ${
    Number(r.options.warmup) > 0 ? 'one warm-up post' : 'no warm-up'}; time until the 200, memory growth as peak RSS over RSS before)`);
  console.log(completionLine('backend', c, '(not run)'));
  console.log(completionLine('peer', p?.completion, peerNote || '(not run)'));
  if (b.completedStatus) {
    console.log(`  status GET of a completed 60-minute job (${num(b.completedStatus.bytes / 1024 / 1024, 2)} MB body, median of 5): backend ${num(b.completedStatus.medianMs, 1)} ms${
      p?.completedStatus ? `, peer ${num(p.completedStatus.medianMs, 1)} ms` : ''}`);
  }
  if (r.storedResults) {
    const s = r.storedResults;
    console.log(`  stored by the completion posts of all targets: ${s.jobs} jobs, ${s.results} distinct result${s.results === 1 ? '' : 's'} and ${s.raw} distinct raw result${s.raw === 1 ? '' : 's'} (1 and 1: every target stored the same)`);
  }
  const starts = [...(r.emptyTable?.startToHealthyMs ?? []), ...(b.startToHealthyMs ?? [])];
  if (starts.length) console.log(`  backend start to healthy (\`npm start\` spawned to the first 200 of /health, on this PostgreSQL, target 2 s): ${starts.map((ms) => `${num(ms)} ms`).join(', ')}`);
  if (b.mlServerRequests !== undefined) console.log(`  requests that reached the idle ML server during the backend's runs: ${b.mlServerRequests} (0 expected: nothing was dispatched)`);

  console.log('');
  console.log('Ratios (throughput: above 1 means the backend does more)');
  console.log(`  status 200   backend/peer ${ratio(b.status200?.rps, p?.status200?.rps)}   backend/PK-floor ${ratio(b.status200?.rps, f.pkRead?.rps)}`);
  console.log(`  status 304   backend/static-floor ${ratio(b.status304?.rps, f.static?.rps)}   (peer: none)`);
  console.log(`  progress cb  backend/peer ${ratio(b.progress?.rps, p?.progress?.rps)}   backend/write-floor ${ratio(b.progress?.rps, f.write?.rps)}   backend/notifying-floor ${ratio(b.progress?.rps, f.writeNotify?.rps)}   peer/notifying-floor ${ratio(p?.progress?.rps, f.writeNotify?.rps)}`);
  const growth = (x: CompletionResult | undefined) => (x ? `${times(x.memory, x)}${x.cold ? ` (cold ${times(x.cold, x)})` : ''}` : 'n/a');
  console.log(`  completion   backend/peer time ${ratio(c?.medianMs, p?.completion?.medianMs)} (median), ${ratio(c?.maxMs, p?.completion?.maxMs)} (max)   memory growth/payload: backend ${growth(c)}   peer ${growth(p?.completion)}`);
  const cpuRatio = (a: WrkResult | undefined, b: WrkResult | undefined) => ratio(a?.cpuMsPerRequest?.target, b?.cpuMsPerRequest?.target);
  console.log(`  CPU/request  backend/peer: status 200 ${cpuRatio(b.status200, p?.status200)}   progress cb ${cpuRatio(b.progress, p?.progress)};   backend/floor: status 200 ${
    cpuRatio(b.status200, f.pkRead)}   status 304 ${cpuRatio(b.status304, f.static)}   progress cb ${cpuRatio(b.progress, f.write)}   (the target's own CPU; above 1 means the backend spends more)`);
  console.log(`  p99 latency  backend/peer: status 200 ${ratio(b.status200?.p99Ms, p?.status200?.p99Ms)}   progress cb ${ratio(b.progress?.p99Ms, p?.progress?.p99Ms)}   (below 1 means the backend is faster)`);
  const runs: Array<[string, WrkResult | undefined]> = [
    ['backend status 200', b.status200], ['backend status 304', b.status304], ['backend progress', b.progress], ['backend request-process', b.requestProcess],
    ['peer status 200', p?.status200], ['peer progress', p?.progress],
    ['PK-read floor', f.pkRead], ['static floor', f.static], ['write floor', f.write], ['notifying write floor', f.writeNotify],
  ];
  if (r.emptyTable) {
    const e = r.emptyTable;
    const rows = num(r.database.extraFinishedRows);
    console.log('');
    console.log(`Growth: the backend with ${rows} more finished jobs / on the seeded jobs alone (measured first, before the fill; target: within 15%, 0.85x or more)`);
    console.log(`  status 200   ${ratio(b.status200?.rps, e.status200?.rps)} (${num(e.status200?.rps ?? 0)} -> ${num(b.status200?.rps ?? 0)} req/s)`);
    console.log(`  status 304   ${ratio(b.status304?.rps, e.status304?.rps)} (${num(e.status304?.rps ?? 0)} -> ${num(b.status304?.rps ?? 0)} req/s)`);
    console.log(`  progress cb  ${ratio(b.progress?.rps, e.progress?.rps)} (${num(e.progress?.rps ?? 0)} -> ${num(b.progress?.rps ?? 0)} req/s)`);
    runs.push(['backend status 200 (empty table)', e.status200], ['backend status 304 (empty table)', e.status304], ['backend progress (empty table)', e.progress]);
  }
  const dirty = runs.filter(([, x]) => x !== undefined && problems(x).length > 0).map(([n]) => n);
  if (dirty.length) console.log(`\nRuns WITH ERRORS (their figures are not comparable): ${dirty.join(', ')}`);
  for (const f of r.failures) console.log(`FAILED: ${f}`);
}

export function printExplain(explained: Explained[], rows: number): void {
  console.log(`\nEXPLAIN (ANALYZE, BUFFERS) of the dispatcher's queries on ${num(rows)} jobs (bench/queries.ts)`);
  for (const e of explained) {
    // The scan says whether an index was used; the top node (Aggregate, Limit, Update) says little.
    const node = e.plan.find((l) => / Scan /.test(l)) ?? e.plan[0] ?? '';
    const top = node.replace(/\s+\(cost=.*$/, '').replace(/^[\s>-]+/, '').trim();
    console.log(`  ${e.name.padEnd(34)} ${num(e.executionMs, 3).padStart(9)} ms execution, ${num(e.planningMs, 3).padStart(7)} ms planning, buffers hit ${e.sharedHit} read ${e.sharedRead}   ${top}`);
  }
}
