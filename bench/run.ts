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
import { createBenchDatabase, fillFinishedJobs, seed, type BenchDatabase } from './database.js';
import { completedStatus, completionCallbacks, progressCallbacks, statusPoll, statusPoll304, type MeasureContext } from './measure.js';
import { parseOptions } from './options.js';
import { bigResult } from './payload.js';
import { explainAll } from './queries.js';
import { printExplain, printReport, type BenchResults } from './report.js';
import { peerAvailable, startBackend, startFloor, startIdleMlServer, startPeer, type Target, type TargetContext } from './targets.js';
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
      console.log(`peer: ${peer.detail}; uvicorn --workers ${opts.peerWorkers} (one process, one event loop, like the backend's one Node process)`);
    } else {
      console.log('peer: skipped, FastAPI/uvicorn/asyncpg are not installed for /usr/bin/python3. Install them with:');
      console.log('  apt-get install python3-fastapi python3-uvicorn python3-asyncpg');
    }

    const result = bigResult(60);
    if (opts.rows > 0) {
      const started = performance.now();
      await fillFinishedJobs(db, opts.rows);
      console.log(`  filled ${opts.rows.toLocaleString('en-US')} finished jobs in ${((performance.now() - started) / 1000).toFixed(1)} s`);
    }
    const seeded = await seed(db, SEEDED_JOBS, result);
    await db.sql`analyze jobs`;
    results.explain = await explainAll(db.sql);
    printExplain(results.explain, SEEDED_JOBS + 1 + opts.rows);

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

    console.log('\nMeasuring (each target alone, one after the other)');
    await withTarget('backend', () => startBackend(tctx), async (t) => {
      const b = results.backend;
      step('backend: status 200');
      b.status200 = await statusPoll(mctx, t);
      step('backend: status 304');
      b.status304 = await statusPoll304(mctx, t);
      step('backend: progress callbacks');
      b.progress = await progressCallbacks(mctx, t);
      step('backend: completion callbacks');
      b.completion = await completionCallbacks(mctx, t);
      b.completedStatus = await completedStatus(t, seeded.completed);
      b.mlServerRequests = ml.hits();
    });
    if (peer.ok) {
      await withTarget('peer', () => startPeer(tctx, opts.peerWorkers), async (t) => {
        const p: NonNullable<BenchResults['peerResults']> = {};
        results.peerResults = p;
        step('peer: status 200');
        p.status200 = await statusPoll(mctx, t);
        step('peer: progress callbacks');
        p.progress = await progressCallbacks(mctx, t);
        step('peer: completion callbacks');
        p.completion = await completionCallbacks(mctx, t);
        p.completedStatus = await completedStatus(t, seeded.completed);
      });
    }
    step('PK-read floor: status 200');
    results.floors.pkRead = await withTarget('PK-read floor', () => startFloor(tctx, 'pk-read'), (t) => statusPoll(mctx, t));
    step('static floor: status 304');
    results.floors.static = await withTarget('static floor', () => startFloor(tctx, 'static'), (t) => statusPoll304(mctx, t));
    step('write floor: progress callbacks');
    results.floors.write = await withTarget('write floor', () => startFloor(tctx, 'write'), (t) => progressCallbacks(mctx, t));

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
