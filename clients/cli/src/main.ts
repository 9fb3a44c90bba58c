#!/usr/bin/env node
/**
 * `ecg`: a transcript of a video or audio file from an ECG backend, from the command line.
 * Commands and exit codes are listed in README.md beside this package.
 */
import { readFileSync } from 'node:fs';
import { Command, CommanderError, Option } from 'commander';
import { health } from './commands/health.js';
import { cancel, jobs, type JobsOptions, remove, status } from './commands/jobs.js';
import { transcribe, type TranscribeOptions } from './commands/transcribe.js';
import { type Connection, DEFAULT_BASE_URL, type GlobalOptions,resolveConnection } from './config.js';
import { ExitCode, exitCodeOf } from './exit.js';
import { FORMATS } from './format.js';

const { version } = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { version: string };

let connection: Connection | undefined;
/** Runs a command with the connection from its flags and the environment; the exit code it returns is kept. */
const run =
  <A extends unknown[]>(body: (conn: Connection, ...args: A) => Promise<ExitCode>) =>
  async (...args: A) => {
    const cmd = args.at(-1) as Command;
    connection = resolveConnection(cmd.optsWithGlobals<GlobalOptions>());
    process.exitCode = await body(connection, ...args);
  };

function program(): Command {
  const ecg = new Command('ecg')
    .description('Transcribe video and audio files with an ECG backend.')
    .version(version, '-V, --version', 'print the version')
    .helpOption('-h, --help', 'show help')
    .option('--base-url <url>', `the backend (default: $ECG_BASE_URL, else ${DEFAULT_BASE_URL})`)
    .option('--token <token>', 'bearer token sent to the backend (default: $ECG_TOKEN)')
    // Usage errors become exit 2 in main(), not commander's own process.exit(1).
    .exitOverride()
    .showHelpAfterError('(add --help for usage)')
    .configureHelp({ showGlobalOptions: true });

  ecg
    .command('transcribe')
    .description('upload a file, process it and print its transcript')
    .argument('<file>', 'the video or audio file')
    .option('-l, --language <code>', 'spoken language code, or auto', 'auto')
    .addOption(new Option('-f, --format <format>', 'output format').choices(FORMATS).default('text'))
    .option('-o, --output <file>', 'write the transcript to this file instead of stdout')
    .option('--no-progress', 'plain log lines instead of progress bars, even on a terminal')
    .action(run((conn, file: string, opts: TranscribeOptions) => transcribe(file, opts, conn)));

  ecg
    .command('status')
    .description("print a job's status")
    .argument('<job-id>', 'the job id transcribe printed')
    .option('--json', 'print the status as the backend sent it')
    .action(run((conn, jobId: string, opts: { json?: boolean }) => status(jobId, { json: opts.json ?? false }, conn)));

  ecg
    .command('cancel')
    .description('cancel a pending or processing job')
    .argument('<job-id>', 'the job id transcribe printed')
    .action(run((conn, jobId: string) => cancel(jobId, conn)));

  ecg
    .command('jobs')
    .description('list your own jobs, newest first (needs a token)')
    .option('-s, --status <status>', 'only jobs in this status')
    .option('--since <time>', 'only jobs created at or after this date or time')
    .option('--before <time>', 'only jobs created before this date or time')
    .option('-n, --limit <n>', 'jobs per page (1 to 100)', '20')
    .option('-a, --all', 'every page, not just the first')
    .option('--json', 'print the jobs as the backend sent them')
    .action(run((conn, opts: JobsOptions) => jobs(opts, conn)));

  ecg
    .command('delete')
    .description("delete a job, its transcript and its video")
    .argument('<job-id>', 'the job id')
    .option('--cancel', 'cancel the job first if the ML server is still working on it')
    .action(run((conn, jobId: string, opts: { cancel?: boolean }) => remove(jobId, opts, conn)));

  ecg
    .command('health')
    .description('check the backend and the ML server behind it')
    .action(run((conn) => health(conn)));

  return ecg;
}

async function main(argv: string[]): Promise<void> {
  try {
    await program().parseAsync(argv);
  } catch (err) {
    if (err instanceof CommanderError) {
      // Help and version end with 0; everything else commander refuses is a usage error.
      process.exitCode = err.exitCode === 0 ? ExitCode.ok : ExitCode.usage;
      return;
    }
    const { code, message } = exitCodeOf(err, connection?.baseUrl ?? DEFAULT_BASE_URL);
    process.stderr.write(`ecg: ${message}\n`);
    process.exitCode = code;
  }
}

await main(process.argv);
