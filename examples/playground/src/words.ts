/** The transcript as the result view needs it: words in time order, speaker turns, the word at a time. */
import type { TranscriptResult } from '@ecg/sdk';

export type Segment = TranscriptResult['segments'][number];
export type Word = Segment['words'][number];

/** A word with its place in the transcript and its speaker; only words with a start time. */
export interface TimedWord extends Word {
  start: number;
  index: number;
  speaker: string | null;
}

export interface Turn {
  speaker: string | null;
  start: number;
  end: number;
  /** Segments of the turn: their timed words, or their text when they have none. */
  parts: Array<{ id: number; words: TimedWord[]; text: string }>;
}

export function timedWords(result: TranscriptResult): TimedWord[] {
  const out: TimedWord[] = [];
  for (const segment of result.segments) {
    for (const w of segment.words) {
      if (w.start !== null) out.push({ ...w, start: w.start, index: out.length, speaker: segment.speaker.speaker_id });
    }
  }
  return out;
}

/** Consecutive segments of one speaker make a turn. */
export function turnsOf(result: TranscriptResult, words: TimedWord[]): Turn[] {
  const bySegment = new Map<Segment, TimedWord[]>();
  let i = 0;
  for (const segment of result.segments) {
    const n = segment.words.filter((w) => w.start !== null).length;
    bySegment.set(segment, words.slice(i, i + n));
    i += n;
  }
  const turns: Turn[] = [];
  for (const segment of result.segments) {
    const speaker = segment.speaker.speaker_id;
    const part = { id: segment.id, words: bySegment.get(segment) ?? [], text: segment.text };
    const last = turns.at(-1);
    if (last && last.speaker === speaker) {
      last.parts.push(part);
      last.end = segment.end;
    } else {
      turns.push({ speaker, start: segment.start, end: segment.end, parts: [part] });
    }
  }
  return turns;
}

/** The word being spoken at `time`: the last one that started, unless it ended before the next began. */
export function wordAt(words: readonly TimedWord[], time: number): number {
  let lo = 0;
  let hi = words.length - 1;
  let found = -1;
  while (lo <= hi) {
    const mid = (lo + hi) >> 1;
    if (words[mid]!.start <= time) {
      found = mid;
      lo = mid + 1;
    } else hi = mid - 1;
  }
  if (found < 0) return -1;
  const w = words[found]!;
  return w.end !== null && time > w.end + 0.25 ? -1 : found;
}

export const clock = (seconds: number): string => {
  const s = Math.max(0, Math.floor(seconds));
  return `${Math.floor(s / 60)}:${String(s % 60).padStart(2, '0')}`;
};
