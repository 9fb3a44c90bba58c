/**
 * Cutting a transcript into subtitle cues: each segment's words (with their timings) are packed
 * into cues of at most `maxLines` lines of `maxLineLength` characters and `maxCueDuration`
 * seconds, never splitting a word and never mixing speakers. Format-free: `subtitles.ts` writes
 * the cues as SRT or WebVTT.
 * @internal
 * @module
 */
import type { TranscriptResult } from './types.js';

type Segment = TranscriptResult['segments'][number];

/** @internal A word with its time span (seconds) and whether a space goes before it. */
export interface TimedWord {
  text: string;
  start: number;
  end: number;
  space: boolean;
}

/** @internal One cue: its speaker id, its span (seconds) and its lines of words. */
export interface Cue {
  speaker: string | null;
  start: number;
  end: number;
  lines: TimedWord[][];
}

/** @internal The limits a cue must keep. */
export interface CueLimits {
  maxLineLength: number;
  maxLines: number;
  maxCueDuration: number;
  /** Characters the first line of a cue of this speaker gives up (a visible `NAME: ` prefix). */
  reserve(speaker: string | null): number;
}

/** Line breaks and tabs inside a word or a text would end a cue early in both formats. */
const flat = (text: string) => text.replace(/\s+/g, ' ').trim();

const width = (text: string) => [...text].length;

const UNSPACED = /[\p{Script=Han}\p{Script=Hiragana}\p{Script=Katakana}\p{Script=Thai}\p{Script=Lao}\p{Script=Khmer}\p{Script=Myanmar}]/u;

/** Words of a segment that has no word timings: its text, times shared out by character count. */
function interpolate(text: string, start: number, end: number, spaced: boolean): TimedWord[] {
  const tokens = spaced ? flat(text).split(' ').filter(Boolean) : [...flat(text)].filter((c) => c !== ' ');
  const total = tokens.reduce((n, t) => n + width(t), 0);
  let done = 0;
  return tokens.map((t) => {
    const from = start + ((end - start) * done) / total;
    done += width(t);
    return { text: t, start: from, end: start + ((end - start) * done) / total, space: spaced };
  });
}

/** @internal The timed words of a segment; missing word times are filled from their neighbours. */
export function wordsOf(segment: Segment): TimedWord[] {
  const start = segment.start;
  const end = Math.max(segment.end, segment.start);
  const raw = segment.words.filter((w) => flat(w.word) !== '');
  // Scripts written without spaces (Chinese, Japanese, Thai, ...) have none in the segment text
  // either: their words are joined without one.
  const spaced = /\s/.test(segment.text.trim()) || !UNSPACED.test(segment.text + raw.map((w) => w.word).join(''));
  if (raw.length === 0) return interpolate(segment.text, start, end, spaced);
  const words: TimedWord[] = [];
  raw.forEach((w, i) => {
    const from = w.start ?? words.at(-1)?.end ?? start;
    const nextStart = raw.slice(i + 1).find((x) => x.start !== null)?.start ?? end;
    const to = w.end ?? Math.max(from, nextStart);
    words.push({ text: flat(w.word), start: from, end: Math.max(from, to), space: spaced });
  });
  return words;
}

const lineWidth = (line: TimedWord[]) => line.reduce((n, w, i) => n + width(w.text) + (i > 0 && w.space ? 1 : 0), 0);

/** Greedy wrapping at `limit` characters (the first line `reserve` fewer); a word longer than a line gets one of its own. */
function wrap(words: TimedWord[], limit: number, reserve: number): TimedWord[][] {
  const lines: TimedWord[][] = [];
  let line: TimedWord[] = [];
  for (const w of words) {
    const room = limit - (lines.length === 0 ? reserve : 0);
    if (line.length > 0 && lineWidth([...line, w]) > room) {
      lines.push(line);
      line = [];
    }
    line.push(w);
  }
  if (line.length > 0) lines.push(line);
  return lines;
}

/** The same number of lines as greedy wrapping at the limit, but as even as they can be. */
function balanced(words: TimedWord[], limit: number, reserve: number): TimedWord[][] {
  let best = wrap(words, limit, reserve);
  for (let narrower = limit - 1; narrower > reserve; narrower--) {
    const lines = wrap(words, narrower, reserve);
    if (lines.length > best.length) break;
    best = lines;
  }
  return best;
}

function cueOf(words: TimedWord[], speaker: string | null, limits: CueLimits): Cue {
  return {
    speaker,
    start: words[0]!.start,
    end: Math.max(...words.map((w) => w.end)),
    lines: balanced(words, limits.maxLineLength, limits.reserve(speaker)),
  };
}

/** @internal Every segment's words packed into cues, in order of start time. */
export function cuesOf(result: TranscriptResult, limits: CueLimits): Cue[] {
  const cues: Cue[] = [];
  const segments = [...result.segments].sort((a, b) => a.start - b.start);
  for (const segment of segments) {
    const speaker = segment.speaker.speaker_id;
    const reserve = limits.reserve(speaker);
    let pending: TimedWord[] = [];
    for (const word of wordsOf(segment)) {
      const candidate = [...pending, word];
      const tooLong = pending.length > 0 && word.end - pending[0]!.start > limits.maxCueDuration;
      if (pending.length > 0 && (tooLong || wrap(candidate, limits.maxLineLength, reserve).length > limits.maxLines)) {
        cues.push(cueOf(pending, speaker, limits));
        pending = [word];
      } else {
        pending = candidate;
      }
    }
    if (pending.length > 0) cues.push(cueOf(pending, speaker, limits));
  }
  return cues.sort((a, b) => a.start - b.start);
}
