/**
 * `ecg transcribe` without a terminal for its progress (stderr to a file, stdout into a pipe), and
 * with `--no-progress` on one: plain log lines, never a bar or an escape sequence. Against the
 * backend as `npm start` runs it: no MODEL_SERVER_URL, the reference ML server beside it.
 */
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import SrtParser from 'srt-parser-2';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { WebVTTParser } from 'webvtt-parser';
import type { JobStatusResponse } from '@ecg/sdk';
import { toSrt, toVtt } from '@ecg/sdk/subtitles';
import { buildCli } from './build.js';
import { runCli } from './run.js';
import { keepScreen } from './screens.js';
import { jobStatus, type Service,startService, videoFile } from './services.js';
import { haveTmux, runInTerminal, shellQuote, type TerminalRun } from './tmux.js';

// The full entity table: the parser's built-in one decodes `&lt;` as "<;".
const entities = createRequire(import.meta.url)('webvtt-parser/html-entities.json') as Record<string, string>;

const PLAIN_LINE = /^(Uploading \S+ \([\d.]+ [kMG]?B\)|upload \d+% \(.*\)|Uploaded [\d.]+ [kMG]?B in [\d.]+s|Job [0-9a-f-]{36}|(pending|processing|completed) \d+%( .+)?)$/;

describe.skipIf(!haveTmux())('ecg transcribe without progress bars', () => {
  let cli: string;
  let service: Service;
  let dir: string;
  let term: TerminalRun | undefined;

  beforeAll(async () => {
    [cli, service] = await Promise.all([buildCli(), startService()]);
  }, 180_000);
  afterAll(async () => service?.stop(), 60_000);
  afterEach(async () => {
    term?.close();
    term = undefined;
    await rm(dir, { recursive: true, force: true });
  });

  const run = async (args: string[], shellTail = '') => {
    dir = await mkdtemp(join(tmpdir(), 'ecg-cli-pipe-'));
    term = runInTerminal(dir, [process.execPath, cli, ...args], { ECG_BASE_URL: service.url }, shellTail);
    return term;
  };
  const jobOf = async (log: string): Promise<JobStatusResponse> => jobStatus(service.url, /^Job ([0-9a-f-]{36})$/m.exec(log)![1]!);

  it('in a pipe, logs one plain line per stage or 10 % step to stderr and writes the SubRip of the result to stdout', async () => {
    const file = await videoFile(service.dir, 'piped.mp4', 1_500_000);
    const t = await run(['transcribe', file, '--format', 'srt'], `2> ${shellQuote(join(service.dir, 'log'))} | cat > ${shellQuote(join(service.dir, 'out.srt'))}`);
    expect(await t.exitCode(60_000)).toBe(0);

    const log = await readFile(join(service.dir, 'log'), 'utf8');
    keepScreen('pipe-stderr', log);
    // No escape sequences, carriage returns or bar glyphs: nothing meant for a terminal.
    expect(log).not.toContain('\u001b');
    expect(log).not.toMatch(/[\r█░]/);
    const lines = log.trimEnd().split('\n');
    for (const line of lines) expect(line).toMatch(PLAIN_LINE);
    expect(lines[0]).toBe('Uploading piped.mp4 (1.5 MB)');
    expect(lines.at(-1)).toMatch(/^completed 100% /);
    const stages = lines.filter((l) => /^(pending|processing|completed) /.test(l));
    expect(new Set(stages).size).toBe(stages.length);

    const job = await jobOf(log);
    expect(job.status).toBe('completed');
    const srt = await readFile(join(service.dir, 'out.srt'), 'utf8');
    expect(srt).toBe(toSrt(job.result!));
    const cues = new SrtParser().fromSrt(srt);
    expect(cues.map((c) => c.id)).toEqual(cues.map((_, i) => String(i + 1)));
    expect(cues.length).toBeGreaterThanOrEqual(job.result!.segments.length);
    for (const cue of cues) expect(cue.endSeconds).toBeGreaterThan(cue.startSeconds);
  }, 90_000);

  it('with --no-progress on a terminal, prints the same plain lines instead of bars, then the transcript', async () => {
    const file = await videoFile(service.dir, 'plain.mp4', 1_000_000);
    const t = await run(['transcribe', '--no-progress', file]);
    expect(await t.exitCode(60_000)).toBe(0);
    const screen = t.screen();
    keepScreen('no-progress', screen);
    expect(screen).not.toMatch(/[█░]/);
    expect(screen).toMatch(/^Uploading plain\.mp4 \(1\.0 MB\)$/m);
    expect(screen).toMatch(/^completed 100% .+$/m);
    const job = await jobOf(screen);
    const transcript = job.result!.segments.filter((s) => s.text.trim()).map((s) => `${s.speaker.speaker_id}: ${s.text.trim()}`);
    expect(screen).toContain(`${transcript.join('\n')}\nEXIT=0`);
  }, 90_000);

  it('with --output, writes the WebVTT of the result to the file, says where on stderr and prints nothing on stdout', async () => {
    const file = await videoFile(service.dir, 'subtitled.mp4', 800_000);
    const output = join(service.dir, 'subtitled.vtt');
    const r = await runCli(cli, ['transcribe', file, '--format', 'vtt', '--output', output], { ECG_BASE_URL: service.url });
    expect(r.code).toBe(0);
    expect(r.stdout).toBe('');
    expect(r.stderr).toMatch(new RegExp(`^Transcript written to ${output.replaceAll('.', '\\.')}$`, 'm'));
    const job = await jobOf(r.stderr);
    const vtt = await readFile(output, 'utf8');
    expect(vtt).toBe(toVtt(job.result!));
    const { cues, errors } = new WebVTTParser(entities).parse(vtt);
    expect(errors).toEqual([]);
    expect(cues.length).toBeGreaterThanOrEqual(job.result!.segments.length);
  }, 90_000);
});
