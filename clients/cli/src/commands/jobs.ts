/** `ecg status <job-id>` and `ecg cancel <job-id>`. */
import { createBackendClient, type JobStatusResponse } from '@ecg/sdk';
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
