/** Flags of `npm run bench -- ...`, each with an environment variable of the same meaning. */
import { parseArgs } from 'node:util';

export interface BenchOptions {
  /** Seconds of each measured wrk run. */
  duration: number;
  /** Seconds of the discarded wrk run before each measured one. */
  warmup: number;
  connections: number;
  threads: number;
  /** Finished jobs put into the table before anything is measured (0: only the seeded ones). */
  rows: number;
  /** Times every target is measured; per figure the median round is kept. */
  rounds: number;
  /** Sequential 60-minute completion callbacks per target. */
  completions: number;
  /** uvicorn workers of the peer. */
  peerWorkers: number;
  /** Server holding the bench's fresh database (never a database of its own is touched). */
  databaseUrl: string;
}

const HELP = `npm run bench -- [options]
  --duration S       seconds per measurement (BENCH_DURATION, default 5)
  --warmup S         seconds of warm-up before each (BENCH_WARMUP, default 1)
  --connections N    wrk connections (BENCH_CONNECTIONS, default 32)
  --threads N        wrk threads (BENCH_THREADS, default 2)
  --rows N           finished jobs put into the table first (BENCH_ROWS, default 0)
  --rounds N         measure every target N times, keep the median (BENCH_ROUNDS, default 1)
  --completions N    60-minute completion callbacks per target (BENCH_COMPLETIONS, default 5)
  --peer-workers N   uvicorn workers of the peer (BENCH_PEER_WORKERS, default 1)
  --database-url U   PostgreSQL server (BENCH_DATABASE_URL, default postgres://postgres@127.0.0.1:5432/postgres)`;

function positive(name: string, value: string | undefined, fallback: number, min = 1): number {
  if (value === undefined || value === '') return fallback;
  const n = Number(value);
  if (!Number.isInteger(n) || n < min) throw new Error(`${name} must be an integer of at least ${min}, not "${value}"`);
  return n;
}

export function parseOptions(argv: string[], env: NodeJS.ProcessEnv): BenchOptions | undefined {
  const { values } = parseArgs({
    args: argv,
    options: {
      duration: { type: 'string' },
      warmup: { type: 'string' },
      connections: { type: 'string' },
      threads: { type: 'string' },
      rows: { type: 'string' },
      rounds: { type: 'string' },
      completions: { type: 'string' },
      'peer-workers': { type: 'string' },
      'database-url': { type: 'string' },
      help: { type: 'boolean' },
    },
  });
  if (values.help) {
    console.log(HELP);
    return undefined;
  }
  return {
    duration: positive('--duration', values.duration ?? env.BENCH_DURATION, 5),
    warmup: positive('--warmup', values.warmup ?? env.BENCH_WARMUP, 1, 0),
    connections: positive('--connections', values.connections ?? env.BENCH_CONNECTIONS, 32),
    threads: positive('--threads', values.threads ?? env.BENCH_THREADS, 2),
    rows: positive('--rows', values.rows ?? env.BENCH_ROWS, 0, 0),
    rounds: positive('--rounds', values.rounds ?? env.BENCH_ROUNDS, 1),
    completions: positive('--completions', values.completions ?? env.BENCH_COMPLETIONS, 5),
    peerWorkers: positive('--peer-workers', values['peer-workers'] ?? env.BENCH_PEER_WORKERS, 1),
    databaseUrl: values['database-url'] ?? env.BENCH_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres',
  };
}
