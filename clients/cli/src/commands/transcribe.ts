/**
 * `ecg transcribe <file>`: upload, request processing, follow the job, write the transcript.
 * Ctrl-C stops what is in flight: the upload is aborted, a job already created is cancelled on the
 * backend (`POST /api/upload-video/cancel/{job_id}`, docs/job-lifecycle.md).
 */
import { constants } from 'node:fs';
import { access, stat, writeFile } from 'node:fs/promises';
import { basename, dirname, resolve } from 'node:path';
import { type BackendClient, createBackendClient, type TerminalJobStatus } from '@ecg/sdk';
import type { Connection } from '../config.js';
import { CliError, ExitCode, exitCodeOf } from '../exit.js';
import { type Format,render } from '../format.js';
import { barReporter, lineReporter, type Reporter } from '../progress.js';

export interface TranscribeOptions {
  language: string;
  format: Format;
  output?: string;
  /** `false` with `--no-progress`: plain lines even on a terminal. */
  progress: boolean;
}

class Interrupted extends Error {
  override readonly name = 'Interrupted';
}

async function fileSize(file: string): Promise<number> {
  try {
    const info = await stat(file);
    if (!info.isFile()) throw new CliError(ExitCode.usage, `not a file: ${file}`);
    return info.size;
  } catch (err) {
    if (err instanceof CliError) throw err;
    const code = (err as NodeJS.ErrnoException).code;
    throw new CliError(ExitCode.usage, code === 'ENOENT' ? `no such file: ${file}` : `cannot read ${file}: ${code ?? String(err)}`);
  }
}

/** Refuses an `--output` that cannot be written before the upload, not after the whole job. */
async function checkOutput(output: string | undefined): Promise<void> {
  if (output === undefined) return;
  const dir = dirname(resolve(output));
  try {
    await access(dir, constants.W_OK);
  } catch (err) {
    throw new CliError(ExitCode.usage, `cannot write --output ${output}: ${(err as NodeJS.ErrnoException).code ?? String(err)} on ${dir}`);
  }
}

async function cancelAfterInterrupt(client: BackendClient, jobId: string, reporter: Reporter, baseUrl: string): Promise<ExitCode> {
  reporter.line(`Interrupted: cancelling job ${jobId}`);
  try {
    await client.cancel(jobId, { signal: AbortSignal.timeout(10_000) });
    reporter.line(`Cancelled job ${jobId} on the backend.`);
  } catch (err) {
    reporter.line(`Job ${jobId} was not cancelled: ${exitCodeOf(err, baseUrl).message}`);
  }
  return ExitCode.interrupted;
}

function write(stream: NodeJS.WritableStream, text: string): Promise<void> {
  return new Promise((resolve, reject) => stream.write(text, (err) => (err ? reject(err) : resolve())));
}

/**
 * Runs the whole flow and resolves with the exit code; rejects only with errors that
 * {@link exitCodeOf} maps (usage, unreachable backend, a refused request).
 */
export async function transcribe(file: string, opts: TranscribeOptions, conn: Connection): Promise<ExitCode> {
  const size = await fileSize(file);
  await checkOutput(opts.output);
  const client = createBackendClient({ baseUrl: conn.baseUrl, ...(conn.token ? { token: conn.token } : {}) });
  const stderr = process.stderr;
  const reporter = opts.progress && stderr.isTTY ? barReporter(stderr) : lineReporter(stderr);

  const interrupt = new AbortController();
  const onSigint = () => {
    // A second Ctrl-C while the cancel request is out: leave at once.
    if (interrupt.signal.aborted) {
      reporter.stop();
      process.exit(ExitCode.interrupted);
    }
    interrupt.abort(new Interrupted('Interrupted'));
  };
  process.on('SIGINT', onSigint);
  try {
    reporter.uploadStarted(basename(file), size);
    let fileKey: string;
    try {
      fileKey = await client.uploadVideo(file, { onProgress: (p) => reporter.upload(p), signal: interrupt.signal });
    } catch (err) {
      if (!interrupt.signal.aborted) throw err;
      reporter.line('Interrupted: the upload was aborted.');
      return ExitCode.interrupted;
    }
    reporter.uploadDone();

    // Not abortable: a job created while Ctrl-C was pressed must be known, to be cancelled.
    const { job_id: jobId } = await client.requestProcess({ fileKey, language: opts.language });
    reporter.jobCreated(jobId);
    if (interrupt.signal.aborted) return await cancelAfterInterrupt(client, jobId, reporter, conn.baseUrl);

    let final: TerminalJobStatus;
    try {
      final = await client.waitForJob(jobId, { onProgress: (s) => reporter.job(s), signal: interrupt.signal });
    } catch (err) {
      if (!interrupt.signal.aborted) throw err;
      return await cancelAfterInterrupt(client, jobId, reporter, conn.baseUrl);
    }
    reporter.stop();

    if (final.status === 'failed') {
      reporter.line(`Job ${jobId} failed: ${final.error_code ?? 'UNKNOWN_ERROR'}: ${final.error_message ?? 'no message from the backend'}`);
      return ExitCode.failed;
    }
    if (final.status === 'cancelled') {
      reporter.line(`Job ${jobId} was cancelled.`);
      return ExitCode.failed;
    }
    const result = final.result ?? (await client.getStatus(jobId)).result;
    if (!result) throw new CliError(ExitCode.failed, `Job ${jobId} completed without a result.`);
    const text = render(result, opts.format);
    if (opts.output) {
      await writeFile(opts.output, text);
      reporter.line(`Transcript written to ${opts.output}`);
    } else {
      await write(process.stdout, text);
    }
    return ExitCode.ok;
  } finally {
    process.off('SIGINT', onSigint);
    reporter.stop();
  }
}
