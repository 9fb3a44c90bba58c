/**
 * What the contract check records: every checked exchange is appended (JSON lines) to the run's
 * records directory, which test/contract/coverage.ts provides and reads at the end of the run to
 * print the coverage table; a response that breaks the spec becomes a {@link ContractViolation}.
 */
import { appendFileSync } from 'node:fs';
import { join } from 'node:path';
import { threadId } from 'node:worker_threads';
import { expect, inject } from 'vitest';

declare module 'vitest' {
  export interface ProvidedContext {
    /** Where workers append contract records (set by the contract coverage reporter). */
    contractRecordsDir: string;
  }
}

export type ContractRecord =
  | { kind: 'hit'; method: string; path: string; status: number; ops: string[] }
  | { kind: 'violation'; test: string; method: string; url: string; status: number; problems: string[] }
  | { kind: 'request'; test: string; deliberate: boolean; method: string; url: string; status: number; problems: string[] }
  | { kind: 'unmatched'; test: string; method: string; path: string; status: number };

let recordsFile: string | null | undefined;

function recordsPath(): string | null {
  if (recordsFile !== undefined) return recordsFile;
  let dir: string | undefined;
  try {
    dir = inject('contractRecordsDir');
  } catch {
    dir = undefined;
  }
  recordsFile = dir ? join(dir, `${process.pid}-${threadId}.jsonl`) : null;
  return recordsFile;
}

export function record(r: ContractRecord): void {
  const file = recordsPath();
  if (file) appendFileSync(file, `${JSON.stringify(r)}\n`);
}

/** The running test, as `test/<file> > <name>`, for the records. */
export function currentTest(): string {
  try {
    const s = expect.getState();
    return `${(s.testPath ?? '').replace(/^.*?\/test\//, 'test/')} > ${s.currentTestName ?? '?'}`;
  } catch {
    return '?';
  }
}

export class ContractViolation extends Error {
  constructor(
    readonly method: string,
    readonly url: string,
    readonly status: number,
    readonly problems: string[],
    body = '',
  ) {
    super(`Contract violation: ${method} ${url} answered ${status}:\n  - ${problems.join('\n  - ')}${body ? `\n  body: ${body.slice(0, 500)}` : ''}`);
    this.name = 'ContractViolation';
  }
}

/** A path and query for the records, with per-job callback tokens left out. */
export const shown = (url: URL) => `${url.pathname.replace(/^\/api\/ml-callback\/[^/]+\//, '/api/ml-callback/{callback_token}/')}${url.search}`.slice(0, 300);

/** A violation to throw, recorded first (when `keep`) so that the run fails even if the test swallows it. */
export function violation(method: string, url: URL, status: number, problems: string[], body: string, keep: boolean): ContractViolation {
  const where = shown(url);
  if (keep) record({ kind: 'violation', test: currentTest(), method, url: where, status, problems });
  return new ContractViolation(method, where, status, problems, body);
}
