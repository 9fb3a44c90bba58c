/**
 * A colour per speaker, stable for a transcript: the speaker's place in `result.speakers` (the
 * order of first appearance). Each colour has a contrast of at least 4.5:1 on white, so it can be
 * used for text.
 */
const PALETTE = ['#1f5fa8', '#a3320b', '#2e7d32', '#6a1b9a', '#8a5a00', '#00695c', '#ad1457', '#37474f'];

export function speakerColours(speakers: readonly string[]): (id: string | null) => string {
  const index = new Map(speakers.map((s, i) => [s, i]));
  return (id) => (id === null ? '#555555' : PALETTE[(index.get(id) ?? speakers.length) % PALETTE.length]!);
}

export const speakerName = (id: string | null): string => id ?? 'Unknown speaker';
