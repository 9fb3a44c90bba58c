/**
 * What `/livez` and `/readyz` check (openapi/v1.1/backend.yaml, operations): the process answers;
 * the database and the storage answer, the shipped migrations are all applied, and the process is
 * not draining after a SIGTERM. A load balancer takes a draining process out of rotation while its
 * requests in flight finish.
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { sql } from 'drizzle-orm';
import type { Database } from '../db/client.js';
import { MIGRATIONS_FOLDER } from '../db/migrate.js';
import type { Storage } from '../storage/index.js';

export interface ProbeState {
  /** Set by the runtime's drain() on SIGTERM. */
  draining: boolean;
}

export type Check = { status: 'up' | 'down'; latency_ms: number };

/** Runs `check` with a time limit; never throws. */
export async function timed(check: () => Promise<unknown>, timeoutMs = 5000): Promise<Check> {
  const started = performance.now();
  let timer: NodeJS.Timeout | undefined;
  try {
    await Promise.race([
      check(),
      new Promise((_, reject) => {
        timer = setTimeout(() => reject(new Error('timeout')), timeoutMs);
      }),
    ]);
    return { status: 'up', latency_ms: Math.round((performance.now() - started) * 100) / 100 };
  } catch {
    return { status: 'down', latency_ms: Math.round((performance.now() - started) * 100) / 100 };
  } finally {
    clearTimeout(timer);
  }
}

let shipped: Promise<number[]> | undefined;
/** The `when` of every migration in the shipped journal: drizzle's migrator stores it as `created_at`. */
function shippedMigrations(): Promise<number[]> {
  shipped ??= readFile(join(MIGRATIONS_FOLDER, 'meta', '_journal.json'), 'utf8').then((text) =>
    (JSON.parse(text) as { entries: Array<{ when: number }> }).entries.map((e) => e.when),
  );
  return shipped;
}

export interface MigrationsCheck {
  status: 'up' | 'down';
  applied: number;
  shipped: number;
}

/** Compares the applied drizzle migrations with the shipped journal. */
export async function checkMigrations(db: Database): Promise<MigrationsCheck> {
  const expected = await shippedMigrations();
  try {
    const rows = await db.execute<{ created_at: string }>(sql`select created_at::text as created_at from drizzle.__drizzle_migrations`);
    const applied = new Set(rows.map((r) => Number(r.created_at)));
    const missing = expected.filter((w) => !applied.has(w)).length;
    return { status: missing === 0 ? 'up' : 'down', applied: rows.length, shipped: expected.length };
  } catch {
    return { status: 'down', applied: 0, shipped: expected.length };
  }
}

export interface Readiness {
  status: 'ready' | 'unavailable' | 'draining';
  checks: { database: Check; storage: Check; migrations: MigrationsCheck };
}

export async function readiness(deps: { db: Database; storage: Storage; state: ProbeState }): Promise<Readiness> {
  const [database, storage, migrations] = await Promise.all([
    timed(() => deps.db.execute(sql`select 1`)),
    timed(() => deps.storage.ready()),
    Promise.race([
      checkMigrations(deps.db),
      new Promise<MigrationsCheck>((resolve) => setTimeout(() => resolve({ status: 'down', applied: 0, shipped: 0 }), 5000).unref()),
    ]),
  ]);
  const up = database.status === 'up' && storage.status === 'up' && migrations.status === 'up';
  return { status: deps.state.draining ? 'draining' : up ? 'ready' : 'unavailable', checks: { database, storage, migrations } };
}
