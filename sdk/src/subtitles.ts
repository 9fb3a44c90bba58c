/**
 * `@ecg/sdk/subtitles`: a completed job's transcript as SRT or WebVTT subtitles, with speakers,
 * cues cut at word boundaries by line length and duration, and optional word timestamps (WebVTT).
 * A separate entry, so that the frontend entry stays small for applications that show no subtitles.
 *
 * @example
 * ```ts
 * import { createBackendClient } from '@ecg/sdk';
 * import { toVtt } from '@ecg/sdk/subtitles';
 *
 * const ecg = createBackendClient({ baseUrl: 'https://ecg.example.com' });
 * const final = await ecg.waitForJob(jobId);
 * if (final.status === 'completed' && final.result) {
 *   const url = URL.createObjectURL(new Blob([toVtt(final.result)], { type: 'text/vtt' }));
 *   video.append(Object.assign(document.createElement('track'), { kind: 'subtitles', src: url, default: true }));
 * }
 * ```
 * @module
 */
import { type Cue, type CueLimits,cuesOf } from './subtitle-cues.js';
import type { TranscriptResult } from './types.js';

export type { TranscriptResult } from './types.js';

/**
 * Options of {@link toSrt} and {@link toVtt}.
 *
 * @example
 * ```ts
 * import type { SubtitleOptions } from '@ecg/sdk/subtitles';
 * const names: Record<string, string> = { SPEAKER_00: 'Ana', SPEAKER_01: 'Ben' };
 * const options: SubtitleOptions = { maxLineLength: 32, maxCueDuration: 5, speakers: (id) => names[id] ?? id };
 * ```
 */
export interface SubtitleOptions {
  /** The longest line, in characters (a longer single word gets a line of its own). Default 42. */
  maxLineLength?: number;
  /** Lines per cue. Default 2. */
  maxLines?: number;
  /** The longest cue, in seconds (a longer single word gets a cue of its own). Default 7. */
  maxCueDuration?: number;
  /**
   * How speakers are named: by default their id (`SPEAKER_00`); a function renames them (an empty
   * name leaves the cue unnamed); `false` names none. WebVTT names them in a voice tag
   * (`<v SPEAKER_00>`), SRT as a prefix of the cue's first line (`SPEAKER_00: `).
   */
  speakers?: false | ((speakerId: string) => string);
  /** WebVTT only: a timestamp tag (`<00:00:01.250>`) before every word after the first of a cue. Default false. */
  wordTimestamps?: boolean;
}

interface Prepared {
  cues: Cue[];
  name: (speaker: string | null) => string;
}

function prepare(result: TranscriptResult, options: SubtitleOptions, prefixed: boolean): Prepared {
  const rename = options.speakers;
  const name = (speaker: string | null) => (speaker === null || rename === false ? '' : rename ? rename(speaker) : speaker).replace(/\s+/g, ' ').trim();
  const limits: CueLimits = {
    maxLineLength: Math.max(1, options.maxLineLength ?? 42),
    maxLines: Math.max(1, options.maxLines ?? 2),
    maxCueDuration: Math.max(0.001, options.maxCueDuration ?? 7),
    reserve: (speaker) => (prefixed && name(speaker) ? [...name(speaker)].length + 2 : 0),
  };
  return { cues: cuesOf(result, limits), name };
}

/** Whole milliseconds; a cue lasts at least one. */
const ms = (seconds: number) => Math.max(0, Math.round(seconds * 1000));

function clock(milliseconds: number, separator: ',' | '.'): string {
  const pad = (n: number, size = 2) => String(n).padStart(size, '0');
  const h = Math.floor(milliseconds / 3_600_000);
  const m = Math.floor(milliseconds / 60_000) % 60;
  const s = Math.floor(milliseconds / 1000) % 60;
  return `${pad(h)}:${pad(m)}:${pad(s)}${separator}${pad(milliseconds % 1000, 3)}`;
}

function span(cue: Cue): [number, number] {
  const start = ms(cue.start);
  return [start, Math.max(ms(cue.end), start + 1)];
}

/** SRT has no escapes: an arrow in the text is shortened so that no line can look like a timing line. */
function srtText(text: string): string {
  let out = text;
  while (out.includes('-->')) out = out.replace(/-->/g, '->');
  return out;
}

/**
 * The transcript as SubRip (`.srt`) subtitles: numbered cues, `HH:MM:SS,mmm` times, the speaker
 * as a `NAME: ` prefix, lines separated by LF.
 *
 * @example
 * ```ts
 * import { toSrt } from '@ecg/sdk/subtitles';
 * import type { TranscriptResult } from '@ecg/sdk';
 *
 * declare const result: TranscriptResult;
 * const srt = toSrt(result, { maxLineLength: 37 });
 * // 1
 * // 00:00:00,000 --> 00:00:02,500
 * // SPEAKER_00: Hello there.
 * ```
 */
export function toSrt(result: TranscriptResult, options: SubtitleOptions = {}): string {
  const { cues, name } = prepare(result, options, true);
  return cues
    .map((cue, i) => {
      const [start, end] = span(cue);
      const label = name(cue.speaker);
      const lines = cue.lines.map((line, n) => srtText((n === 0 && label ? `${label}: ` : '') + joinWords(line, (w) => w.text)));
      return `${i + 1}\n${clock(start, ',')} --> ${clock(end, ',')}\n${lines.join('\n')}\n`;
    })
    .join('\n');
}

const escapeVtt = (text: string) => text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');

function joinWords<W extends { space: boolean }>(line: W[], text: (w: W, i: number) => string): string {
  return line.map((w, i) => (i > 0 && w.space ? ' ' : '') + text(w, i)).join('');
}

/**
 * The transcript as WebVTT (`.vtt`) subtitles: numbered cues, `HH:MM:SS.mmm` times, the speaker as
 * a voice tag (`<v SPEAKER_00>…</v>`), `&`, `<` and `>` escaped, and with `wordTimestamps` a
 * timestamp tag before each word after a cue's first (for karaoke-style highlighting).
 *
 * @example
 * ```ts
 * import { toVtt } from '@ecg/sdk/subtitles';
 * import type { TranscriptResult } from '@ecg/sdk';
 *
 * declare const result: TranscriptResult;
 * const vtt = toVtt(result, { wordTimestamps: true });
 * // WEBVTT
 * //
 * // 1
 * // 00:00:00.000 --> 00:00:02.500
 * // <v SPEAKER_00>Hello <00:00:00.900>there.</v>
 * ```
 */
export function toVtt(result: TranscriptResult, options: SubtitleOptions = {}): string {
  const { cues, name } = prepare(result, options, false);
  const blocks = cues.map((cue, i) => {
    const [start, end] = span(cue);
    // A timestamp tag must lie strictly inside the cue and after the one before it.
    let last = start;
    const stamp = (seconds: number) => {
      const at = ms(seconds);
      if (!options.wordTimestamps || at <= last || at >= end) return '';
      last = at;
      return `<${clock(at, '.')}>`;
    };
    const text = cue.lines.map((line) => joinWords(line, (w) => stamp(w.start) + escapeVtt(w.text))).join('\n');
    // A voice annotation ends at `>` and may not hold `&` unescaped.
    const voice = escapeVtt(name(cue.speaker));
    return `${i + 1}\n${clock(start, '.')} --> ${clock(end, '.')}\n${voice ? `<v ${voice}>${text}</v>` : text}\n`;
  });
  return ['WEBVTT\n', ...blocks].join('\n');
}
