/**
 * `ecg transcribe` on a real terminal (a tmux pane), against the backend and the reference ML server
 * paced at 700 ms a stage, so a job lasts about five seconds: bars while it works, the transcript
 * at the end, and Ctrl-C in the middle cancelling the job on the backend.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { buildCli } from './build.js';
import { keepScreen } from './screens.js';
import { jobStatus, type Service,startService, videoFile } from './services.js';
import { haveTmux, runInTerminal, type TerminalRun } from './tmux.js';

const JOB_LINE = /^Job ([0-9a-f-]{36})$/m;

describe.skipIf(!haveTmux())('ecg transcribe on a terminal', () => {
  let cli: string;
  let service: Service;
  let dir: string;
  let term: TerminalRun | undefined;

  beforeAll(async () => {
    [cli, service] = await Promise.all([buildCli(), startService({ mlBehaviour: 'step=700' })]);
  }, 180_000);
  afterAll(async () => service?.stop(), 60_000);
  afterEach(async () => {
    term?.close();
    term = undefined;
    await rm(dir, { recursive: true, force: true });
  });

  const run = async (...args: string[]) => {
    dir = await mkdtemp(join(tmpdir(), 'ecg-cli-term-'));
    term = runInTerminal(dir, [process.execPath, cli, ...args], { ECG_BASE_URL: service.url });
    return term;
  };

  it('draws the upload and processing bars while it works, then prints the transcript and exits 0', async () => {
    const file = await videoFile(service.dir, 'talk.mp4', 2_000_000);
    const t = await run('transcribe', file);

    // A frame from the middle of the run: the processing bar part-way, with the stage it is in.
    const frame = await t.waitForScreen((s) => /^Processing +█+░+ +([1-9]\d?)% \| [A-Z][a-z]/m.test(s));
    keepScreen('terminal-during', frame);
    expect(frame).toMatch(/^Upload +█{30} 100% \| 2\.0 MB \/ 2\.0 MB \| [\d.]+ [kMG]?B\/s \| 0s left$/m);
    expect(frame).not.toMatch(/EXIT=/);

    expect(await t.exitCode(60_000)).toBe(0);
    const last = t.screen();
    keepScreen('terminal-end', last);
    expect(last).toMatch(/^Processing +█{30} 100% \| \S/m);
    const jobId = JOB_LINE.exec(last)?.[1];
    expect(jobId).toBeDefined();
    const job = await jobStatus(service.url, jobId!);
    expect(job.status).toBe('completed');
    const lines = job.result!.segments.filter((s) => s.text.trim()).map((s) => `${s.speaker.speaker_id}: ${s.text.trim()}`);
    expect(lines.length).toBeGreaterThan(0);
    // The transcript follows the bars, line for line, then the exit code.
    expect(last.slice(last.indexOf('Processing'))).toContain(`${lines.join('\n')}\nEXIT=0`);
  }, 90_000);

  it('cancels the job on the backend when Ctrl-C is pressed during processing, and exits 130', async () => {
    const file = await videoFile(service.dir, 'interrupted.mp4', 1_000_000);
    const t = await run('transcribe', file);
    const frame = await t.waitForScreen((s) => /^Processing +█+░+ +([1-8]\d)% \|/m.test(s));
    keepScreen('ctrl-c-before', frame);
    const jobId = JOB_LINE.exec(frame)![1]!;
    expect((await jobStatus(service.url, jobId)).status).toBe('processing');

    t.sendKeys('C-c');
    expect(await t.exitCode()).toBe(130);
    const last = t.screen();
    keepScreen('ctrl-c-after', last);
    expect(last).toContain(`Cancelled job ${jobId} on the backend.`);
    expect((await jobStatus(service.url, jobId)).status).toBe('cancelled');
  }, 90_000);
});
