/** Progress as the frontend sees it (docs/job-lifecycle.md, "Progress"). */

/** Stage messages by progress band, used when the ML server sends no message of its own. */
const BANDS: ReadonlyArray<readonly [number, string]> = [
  [10, 'Initialising'],
  [25, 'Extracting audio'],
  [40, 'Detecting speech'],
  [60, 'Identifying speakers'],
  [75, 'Transcribing'],
  [90, 'Analysing emotion and confidence'],
  [100, 'Finalising'],
];

export function stageMessage(progress: number): string {
  for (const [upTo, label] of BANDS) if (progress < upTo) return label;
  return 'Finalising';
}

/** A reported progress as a whole percentage in 0..100, or null when there is none to read. */
export function clampProgress(p: number | null | undefined): number | null {
  if (p === null || p === undefined || !Number.isFinite(p)) return null;
  return Math.min(100, Math.max(0, Math.round(p)));
}

/** The band labels as `current_stage` values (docs/job-lifecycle.md, "Stage and time remaining"). */
const STAGE_BANDS: ReadonlyArray<readonly [number, string]> = [
  [10, 'initialising'],
  [25, 'extracting_audio'],
  [40, 'detecting_speech'],
  [60, 'identifying_speakers'],
  [75, 'transcribing'],
  [90, 'analysing'],
];

/** Words of an ML server's message that name a stage, checked in this order. */
const STAGE_WORDS: ReadonlyArray<readonly [RegExp, string]> = [
  [/download/i, 'downloading'],
  [/transcri|whisper/i, 'transcribing'],
  [/align/i, 'aligning'],
  [/speaker|diari[sz]/i, 'identifying_speakers'],
  [/extract|audio/i, 'extracting_audio'],
  [/speech|voice activity|\bvad\b/i, 'detecting_speech'],
  [/emotion|confidence|analy[sz]/i, 'analysing'],
  [/final|saving|upload/i, 'finalising'],
  [/initiali[sz]|loading model|starting/i, 'initialising'],
];

/**
 * A short label of the stage a live job is in: `queued` while pending, else the stage the ML server's
 * message names, else the progress band's.
 */
export function currentStage(status: 'pending' | 'processing', progress: number, message: string | null): string {
  if (status === 'pending') return 'queued';
  if (message) for (const [words, label] of STAGE_WORDS) if (words.test(message)) return label;
  for (const [upTo, label] of STAGE_BANDS) if (progress < upTo) return label;
  return 'finalising';
}

/**
 * Seconds left, from the rate so far: `runSeconds` (ML server took the job to its last change) for
 * `progress` percent. Null when that says nothing: no progress yet, or under a second of work.
 */
export function estimatedSecondsLeft(progress: number, runSeconds: number | null): number | null {
  if (runSeconds === null || !Number.isFinite(runSeconds) || runSeconds < 1 || progress <= 0) return null;
  if (progress >= 100) return 0;
  return Math.min(2_147_483_647, Math.round((runSeconds * (100 - progress)) / progress));
}
