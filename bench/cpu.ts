/**
 * CPU time spent by the target and by the database during a measured run, per request. On a shared
 * machine req/s moves with everyone else's load; the CPU each request costs moves much less.
 */
import { readFile } from 'node:fs/promises';
import type postgres from 'postgres';

/** Linux's USER_HZ: /proc reports CPU times in these ticks, 100 per second on every Linux ABI in use. */
const TICKS_PER_SECOND = 100;

async function ticks(pid: number): Promise<number | undefined> {
  const stat = await readFile(`/proc/${pid}/stat`, 'utf8').catch(() => undefined);
  if (stat === undefined) return undefined;
  // Fields after the command name: state is field 3, utime and stime are fields 14 and 15.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return Number(fields[11]) + Number(fields[12]);
}

async function snapshot(pids: number[]): Promise<Map<number, number>> {
  const out = new Map<number, number>();
  for (const pid of pids) {
    const t = await ticks(pid);
    if (t !== undefined) out.set(pid, t);
  }
  return out;
}

/** The PostgreSQL server processes serving `database` (the bench's own database only). */
async function databasePids(sql: postgres.Sql, database: string): Promise<number[]> {
  const rows = await sql<{ pid: number }[]>`select pid from pg_stat_activity where datname = ${database} and pid <> pg_backend_pid()`;
  return rows.map((r) => r.pid);
}

export interface CpuUse {
  /** CPU milliseconds of the target's serving processes. */
  targetMs: number;
  /** CPU milliseconds of the PostgreSQL processes connected to the bench database. */
  databaseMs: number;
}

/** Starts counting; the returned function stops and answers the CPU used in between. */
export async function countCpu(targetPids: number[], sql: postgres.Sql, database: string): Promise<() => Promise<CpuUse>> {
  const target0 = await snapshot(targetPids);
  const db0 = await snapshot(await databasePids(sql, database));
  return async () => {
    const target1 = await snapshot(targetPids);
    const db1 = await snapshot(await databasePids(sql, database));
    const used = (before: Map<number, number>, after: Map<number, number>) =>
      [...after].reduce((sum, [pid, t]) => sum + t - (before.get(pid) ?? 0), 0) * (1000 / TICKS_PER_SECOND);
    return { targetMs: used(target0, target1), databaseMs: used(db0, db1) };
  };
}
