/** `ecg status <job-id>`, `ecg cancel <job-id>`, `ecg jobs` and `ecg delete <job-id>`. */
import { createBackendClient, type JobStatus, type JobStatusResponse, type JobSummary } from '@ecg/sdk';
import type { Connection } from '../config.js';
import { CliError, ExitCode } from '../exit.js';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

function checkJobId(jobId: string): void {
  if (!UUID.test(jobId)) throw new CliError(ExitCode.usage, `not a job id (a UUID): "${jobId}"`);
}

const client = (conn: Connection) => createBackendClient({ baseUrl: conn.baseUrl, ...(conn.token ? { token: conn.token } : {}) });

function describe(s: JobStatusResponse): string {
  const lines = [`job       ${s.job_id}`, `status    ${s.status}`, `progress  ${s.progress}%${s.message ? ` ${s.message}` : ''}`];
  if (s.status === 'failed') lines.push(`error     ${s.error_code ?? 'UNKNOWN_ERROR'}: ${s.error_message ?? ''}`);
  if (s.result) lines.push(`result    ${s.result.segments.length} segments, ${s.result.speakers.length} speakers (ecg status --json for all of it)`);
  lines.push(`updated   ${s.updated_at}`);
  return `${lines.join('\n')}\n`;
}

/** Prints the job's status; exit 0 whatever its state, since the command itself worked. */
export async function status(jobId: string, opts: { json: boolean }, conn: Connection): Promise<ExitCode> {
  checkJobId(jobId);
  const s = await client(conn).getStatus(jobId);
  process.stdout.write(opts.json ? `${JSON.stringify(s, null, 2)}\n` : describe(s));
  return ExitCode.ok;
}

/** Cancels a pending or processing job; a job that has already ended is refused by the backend (exit 1). */
export async function cancel(jobId: string, conn: Connection): Promise<ExitCode> {
  checkJobId(jobId);
  const answer = await client(conn).cancel(jobId);
  process.stdout.write(`Cancelled job ${answer.job_id}: ${answer.message}\n`);
  return ExitCode.ok;
}

export interface JobsOptions {
  status?: JobStatus;
  since?: string;
  before?: string;
  limit?: string;
  all?: boolean;
  json?: boolean;
}

const STATUSES: readonly JobStatus[] = ['pending', 'processing', 'completed', 'failed', 'cancelled'];

function time(name: string, value: string | undefined): string | undefined {
  if (value === undefined) return undefined;
  const t = Date.parse(value);
  if (Number.isNaN(t)) throw new CliError(ExitCode.usage, `--${name}: not a date or time: "${value}"`);
  return new Date(t).toISOString();
}

/** The uploaded file's name: the key's last segment without the `YYYYMMDD_HHMMSS_<hex>_` the backend put before it (docs/storage.md). */
const fileName = (key: string) => (key.split('/').at(-1) ?? '').replace(/^\d{8}_\d{6}_[0-9a-f]{8}_/, '');
const row = (j: JobSummary) => `${j.job_id}  ${j.status.padEnd(10)} ${`${j.progress}%`.padStart(4)}  ${j.created_at}  ${fileName(j.file_key)}`;

/** Lists the caller's own jobs, newest first: one page (`--limit`, default 20), or every page with `--all`. */
export async function jobs(opts: JobsOptions, conn: Connection): Promise<ExitCode> {
  if (opts.status !== undefined && !STATUSES.includes(opts.status)) throw new CliError(ExitCode.usage, `--status: one of ${STATUSES.join(', ')}`);
  const limit = opts.limit === undefined ? 20 : Number(opts.limit);
  if (!Number.isInteger(limit) || limit < 1 || limit > 100) throw new CliError(ExitCode.usage, '--limit: a whole number from 1 to 100');
  const createdAfter = time('since', opts.since);
  const createdBefore = time('before', opts.before);
  const ecg = client(conn);
  const found: JobSummary[] = [];
  let cursor: string | undefined;
  do {
    const page = await ecg.listMyJobs({
      limit,
      ...(opts.status ? { status: opts.status } : {}),
      ...(createdAfter ? { createdAfter } : {}),
      ...(createdBefore ? { createdBefore } : {}),
      ...(cursor ? { cursor } : {}),
    });
    found.push(...page.jobs);
    cursor = opts.all && page.next_cursor ? page.next_cursor : undefined;
  } while (cursor);
  if (opts.json) process.stdout.write(`${JSON.stringify(found, null, 2)}\n`);
  else if (found.length === 0) process.stdout.write('No jobs.\n');
  else process.stdout.write(`${found.map(row).join('\n')}\n`);
  return ExitCode.ok;
}

/** Deletes a job, its result and its video; `--cancel` cancels a running one first. Deleting again also succeeds. */
export async function remove(jobId: string, opts: { cancel?: boolean }, conn: Connection): Promise<ExitCode> {
  checkJobId(jobId);
  await client(conn).deleteJob(jobId, { cancel: opts.cancel ?? false });
  process.stdout.write(`Deleted job ${jobId.toLowerCase()}.\n`);
  return ExitCode.ok;
}
