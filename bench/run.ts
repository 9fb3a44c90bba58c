/**
 * `npm run bench`: the backend side by side with a FastAPI peer and raw floors, each a separate
 * process on 127.0.0.1 loaded by wrk, all on one fresh PostgreSQL database. Figures, ratios, and a
 * JSON copy in .tmp/bench-<timestamp>.json. `npm run bench -- --help` lists the options.
 */
import { randomBytes } from 'node:crypto';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { type BenchDatabase,createBenchDatabase, fillFinishedJobs, seed } from './database.js';
import type { MeasureContext } from './measure.js';
import { parseOptions } from './options.js';
import { bigResult } from './payload.js';
import { explainAll } from './queries.js';
import { type BenchResults,printExplain, printReport } from './report.js';
import { combineRounds, measureBackend, measureRound, type Round } from './rounds.js';
import { peerAvailable, startIdleMlServer, type Target, type TargetContext } from './targets.js';
import { WRK, wrkInstalled } from './wrk.js';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const SEEDED_JOBS = 200;

async function cpuModel(): Promise<string> {
  const info = await readFile('/proc/cpuinfo', 'utf8').catch(() => '');
  return info.match(/^model name\s*:\s*(.+)$/m)?.[1]?.trim() ?? cpus()[0]?.model ?? 'unknown';
}

async function main(): Promise<void> {
  const opts = parseOptions(process.argv.slice(2), process.env);
  if (!opts) return;
  if (!wrkInstalled()) throw new Error(`${WRK} is missing: apt-get install wrk`);

  const peer = await peerAvailable();
  const results: BenchResults = {
    startedAt: new Date().toISOString(),
    machine: { cpu: await cpuModel(), cores: cpus().length, node: process.version, postgres: '?', loadAverageStart: loadavg()[0]! },
    options: { ...opts, databaseUrl: opts.databaseUrl.replace(/\/\/[^@/]*@/, '//***@') },
    database: { jobs: SEEDED_JOBS, extraFinishedRows: opts.rows },
    peer: { available: peer.ok, detail: peer.detail, workers: opts.peerWorkers },
    explain: [],
    backend: {},
    floors: {},
    failures: [],
  };

  const tmp = await mkdtemp(join(tmpdir(), 'ecg-bench-'));
  const running = new Set<Target>();
  let db: BenchDatabase | undefined;
  const ml = await startIdleMlServer();
  const cleanup = async () => {
    await Promise.allSettled([...running].map((t) => t.stop()));
    await ml.close();
    await db?.drop().catch((err: unknown) => console.error(`could not drop ${db?.name}: ${String(err)}`));
    await rm(tmp, { recursive: true, force: true });
  };
  process.once('SIGINT', () => void cleanup().finally(() => process.exit(130)));

  try {
    db = await createBenchDatabase(opts.databaseUrl);
    results.machine.postgres = db.serverVersion;
    console.log(`ECG bench: wrk ${opts.threads} threads, ${opts.connections} connections, ${opts.duration} s per measurement after ${opts.warmup} s warm-up, 127.0.0.1 only`);
    console.log(`machine: ${results.machine.cpu}, ${results.machine.cores} cores, Node ${process.version}, PostgreSQL ${db.serverVersion}; load average ${num1(results.machine.loadAverageStart)} at start (a shared machine: other work runs beside the bench)`);
    console.log(`database: ${db.name} (fresh, shipped migrations), ${SEEDED_JOBS} processing jobs and a completed one${opts.rows ? `, plus ${opts.rows.toLocaleString('en-US')} finished jobs` : ''}`);
    if (peer.ok) {
      console.log(`peer: ${peer.detail}; uvicorn --workers ${opts.peerWorkers} ${
        opts.peerWorkers === 1 ? "(one process, one event loop, like the backend's one Node process)" : '(more processes than the backend has: memory is summed over the workers)'}`);
    } else {
      console.log('peer: skipped, FastAPI/uvicorn/asyncpg are not installed for /usr/bin/python3. Install them with:');
      console.log('  apt-get install python3-fastapi python3-uvicorn python3-asyncpg');
    }

    const result = bigResult(60);
    const seeded = await seed(db, SEEDED_JOBS, result);
    await db.sql`analyze jobs`;

    const webhookSecret = `whsec_${randomBytes(32).toString('base64')}`;
    const tctx: TargetContext = { root: ROOT, tmp, databaseUrl: db.url, webhookSecret, mlServerUrl: ml.url };
    const mctx: MeasureContext = { root: ROOT, tmp, opts, db, jobs: seeded.jobs, webhookSecret, result };
    const step = (what: string) => process.stdout.write(`  ${what}...\n`);
    // A target that fails is reported and the others still run: one broken process spoils no other figure.
    const withTarget = async <T>(name: string, start: () => Promise<Target>, body: (t: Target) => Promise<T>): Promise<T | undefined> => {
      let t: Target | undefined;
      try {
        t = await start();
        running.add(t);
        return await body(t);
      } catch (err) {
        const message = `${name}: ${err instanceof Error ? err.message : String(err)}`;
        results.failures.push(message);
        console.log(`  FAILED ${message}`);
        return undefined;
      } finally {
        await t?.stop();
        if (t) running.delete(t);
      }
    };
    const roundContext = { tctx, mctx, completedJob: seeded.completed, peer: { ok: peer.ok, workers: opts.peerWorkers }, mlHits: ml.hits, withTarget, step };

    if (opts.rows > 0) {
      // The same backend figures on the seeded jobs alone, then on the filled table: the growth ratios.
      console.log('\nMeasuring the backend on the seeded jobs alone, before filling the table');
      results.emptyTable = await measureBackend(roundContext, true);
      const started = performance.now();
      await fillFinishedJobs(db, opts.rows);
      console.log(`  filled ${opts.rows.toLocaleString('en-US')} finished jobs in ${((performance.now() - started) / 1000).toFixed(1)} s`);
    }
    results.explain = await explainAll(db.sql);
    printExplain(results.explain, SEEDED_JOBS + 1 + opts.rows);

    const rounds: Round[] = [];
    for (let i = 1; i <= opts.rounds; i++) {
      console.log(`\nMeasuring${opts.rounds > 1 ? `, round ${i} of ${opts.rounds}` : ''} (each target alone, one after the other)`);
      rounds.push(await measureRound(roundContext));
    }
    Object.assign(results, combineRounds(rounds));
    results.rounds = rounds;
    // The peer does the same work only if it stores the same thing: one distinct result (jsonb equality) for all completion posts.
    const [stored] = await db.sql<{ results: number; raw: number; jobs: number }[]>`
      select count(distinct result)::int as results, count(distinct raw_result)::int as raw, count(*)::int as jobs
      from jobs where status = 'completed' and file_key = 'videos/anonymous/20261201_000000_bench.mp4'`;
    results.storedResults = stored ?? { results: 0, raw: 0, jobs: 0 };

    results.machine.loadAverageEnd = loadavg()[0]!;
    printReport(results);
    console.log(`\nload average ${num1(results.machine.loadAverageStart)} at start, ${num1(results.machine.loadAverageEnd)} at the end`);
    await mkdir(join(ROOT, '.tmp'), { recursive: true });
    const file = join(ROOT, '.tmp', `bench-${results.startedAt.replace(/[:.]/g, '-')}.json`);
    await writeFile(file, JSON.stringify(results, null, 2) + '\n');
    console.log(`JSON: ${file}`);
  } finally {
    await cleanup();
  }
}

const num1 = (n: number) => n.toFixed(2);

await main();
