/**
 * What `ecg transcribe` shows on stderr while it works: progress bars on a terminal, plain log
 * lines otherwise (a pipe, a log file, CI, or `--no-progress`), so logs stay readable.
 */
import cliProgress from 'cli-progress';
import type { JobStatusResponse, UploadProgress } from '@ecg/sdk';

export interface Reporter {
  uploadStarted(filename: string, size: number): void;
  upload(progress: UploadProgress): void;
  uploadDone(): void;
  jobCreated(jobId: string): void;
  job(status: JobStatusResponse): void;
  /** Stops any bar (leaving it on screen) and prints a line of its own. */
  line(text: string): void;
  /** Stops any bar; safe to call more than once. */
  stop(): void;
}

export function formatBytes(n: number): string {
  const units = ['B', 'kB', 'MB', 'GB'];
  let value = n;
  let unit = 0;
  while (value >= 1000 && unit < units.length - 1) {
    value /= 1000;
    unit++;
  }
  return unit === 0 ? `${n} B` : `${value.toFixed(1)} ${units[unit]}`;
}

export function formatDuration(seconds: number): string {
  if (!Number.isFinite(seconds)) return '?';
  const s = Math.max(0, Math.round(seconds));
  return s < 60 ? `${s}s` : `${Math.floor(s / 60)}m${String(s % 60).padStart(2, '0')}s`;
}

/** Bytes per second since the upload started, and the seconds left at that rate. */
function rateOf(loaded: number, total: number, startedAt: number): { rate: number; left: number } {
  const elapsed = (performance.now() - startedAt) / 1000;
  const rate = elapsed > 0 ? loaded / elapsed : 0;
  return { rate, left: rate > 0 ? (total - loaded) / rate : Number.POSITIVE_INFINITY };
}

const stage = (s: JobStatusResponse) => s.message ?? s.status;

/** Bars drawn with cli-progress: one for the upload, then one for processing. */
export function barReporter(stream: NodeJS.WriteStream): Reporter {
  const common = { stream, hideCursor: true, clearOnComplete: false, barsize: 30, fps: 10, barCompleteChar: '█', barIncompleteChar: '░' };
  let bar: cliProgress.SingleBar | undefined;
  let startedAt = 0;
  let sent = 0;
  let uploadSize = 0;
  let ticker: NodeJS.Timeout | undefined;
  const showUpload = () => {
    const { rate, left } = rateOf(sent, uploadSize, startedAt);
    bar?.update(sent, { sent: formatBytes(sent), rate: `${formatBytes(rate)}/s`, left: formatDuration(left) });
  };
  const stop = () => {
    clearInterval(ticker);
    ticker = undefined;
    bar?.stop();
    bar = undefined;
  };
  return {
    uploadStarted(filename, size) {
      startedAt = performance.now();
      uploadSize = size;
      stream.write(`Uploading ${filename}\n`);
      bar = new cliProgress.SingleBar({ ...common, format: 'Upload     {bar} {percentage}% | {sent} / {size} | {rate} | {left} left' });
      bar.start(size, 0, { sent: formatBytes(0), size: formatBytes(size), rate: '-', left: '?' });
      // Progress events stop when the connection stalls; the rate and time left must still fall.
      ticker = setInterval(showUpload, 1000).unref();
    },
    upload({ loaded }) {
      sent = loaded;
      showUpload();
    },
    uploadDone: stop,
    jobCreated(jobId) {
      stream.write(`Job ${jobId}\n`);
      bar = new cliProgress.SingleBar({ ...common, format: 'Processing {bar} {percentage}% | {stage}' });
      bar.start(100, 0, { stage: 'queued' });
    },
    job(status) {
      bar?.update(status.progress, { stage: stage(status) });
    },
    line(text) {
      stop();
      stream.write(`${text}\n`);
    },
    stop,
  };
}

/** One line per stage change and per 10 % step, for logs. */
export function lineReporter(stream: NodeJS.WritableStream): Reporter {
  let startedAt = 0;
  let uploadSize = 0;
  // The "Uploading" line stands for 0 %, so the first upload line is at 10 %.
  let uploadStep = 0;
  let lastStage: string | null | undefined;
  let jobStep = -1;
  const say = (text: string) => stream.write(`${text}\n`);
  return {
    uploadStarted(filename, size) {
      startedAt = performance.now();
      uploadSize = size;
      say(`Uploading ${filename} (${formatBytes(size)})`);
    },
    upload({ loaded, total, percent }) {
      const step = Math.floor(percent / 10);
      if (step <= uploadStep) return;
      uploadStep = step;
      const { rate, left } = rateOf(loaded, total, startedAt);
      say(`upload ${percent}% (${formatBytes(loaded)} of ${formatBytes(total)}, ${formatBytes(rate)}/s, ${formatDuration(left)} left)`);
    },
    uploadDone() {
      say(`Uploaded ${formatBytes(uploadSize)} in ${((performance.now() - startedAt) / 1000).toFixed(1)}s`);
    },
    jobCreated(jobId) {
      say(`Job ${jobId}`);
    },
    job(status) {
      const step = Math.floor(status.progress / 10);
      if (step <= jobStep && status.message === lastStage) return;
      jobStep = Math.max(jobStep, step);
      lastStage = status.message;
      say(`${status.status} ${status.progress}%${status.message ? ` ${status.message}` : ''}`);
    },
    line: say,
    stop: () => undefined,
  };
}
