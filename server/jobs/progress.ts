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
