/**
 * SubRip (`.srt`) and WebVTT (`.vtt`) renderings of a transcript: one cue per segment, the speaker
 * in front of its text (SRT) or as a voice span (WebVTT).
 */
import type { TranscriptResult } from '@ecg/sdk';

type Segment = TranscriptResult['segments'][number];

interface Cue {
  start: number;
  end: number;
  speaker: string | null;
  text: string;
}

/** Segments with text, one line each, and an end never before the start. */
function cues(result: TranscriptResult): Cue[] {
  return result.segments
    .map((s: Segment) => {
      // A blank line ends a cue in both formats, so the text must stay on one line.
      const text = s.text.replace(/\s+/g, ' ').trim();
      const start = Math.max(0, s.start);
      return { start, end: Math.max(start, s.end), speaker: s.speaker.speaker_id, text };
    })
    .filter((c) => c.text !== '');
}

/** `HH:MM:SS<sep>mmm`; hours grow past two digits rather than wrap. */
function timestamp(seconds: number, separator: ',' | '.'): string {
  const ms = Math.round(seconds * 1000);
  const pad = (n: number, width = 2) => String(n).padStart(width, '0');
  const h = Math.floor(ms / 3_600_000);
  const m = Math.floor(ms / 60_000) % 60;
  const s = Math.floor(ms / 1000) % 60;
  return `${pad(h)}:${pad(m)}:${pad(s)}${separator}${pad(ms % 1000, 3)}`;
}

/**
 * The transcript as SubRip: numbered cues, `HH:MM:SS,mmm --> HH:MM:SS,mmm`, `SPEAKER: text`.
 *
 * @example
 * ```ts
 * import { toSrt } from './subtitles.js';
 * await writeFile('talk.srt', toSrt(final.result));
 * ```
 */
export function toSrt(result: TranscriptResult): string {
  return cues(result)
    .map((c, i) => {
      // `-->` inside the text would read as a timing line to some players.
      const text = c.text.replaceAll('-->', '->');
      return `${i + 1}\n${timestamp(c.start, ',')} --> ${timestamp(c.end, ',')}\n${c.speaker ? `${c.speaker}: ` : ''}${text}\n`;
    })
    .join('\n');
}

const escapeVtt = (s: string) => s.replaceAll('&', '&amp;').replaceAll('<', '&lt;').replaceAll('>', '&gt;');

/**
 * The transcript as WebVTT: a `WEBVTT` header, then cues `HH:MM:SS.mmm --> HH:MM:SS.mmm` whose text
 * carries the speaker as a voice span (`<v SPEAKER_00>text`), escaped as the format requires.
 *
 * @example
 * ```ts
 * import { toVtt } from './subtitles.js';
 * track.src = URL.createObjectURL(new Blob([toVtt(final.result)], { type: 'text/vtt' }));
 * ```
 */
export function toVtt(result: TranscriptResult): string {
  const body = cues(result).map(
    (c) => `${timestamp(c.start, '.')} --> ${timestamp(c.end, '.')}\n${c.speaker ? `<v ${escapeVtt(c.speaker)}>` : ''}${escapeVtt(c.text)}\n`,
  );
  return ['WEBVTT\n', ...body].join('\n');
}
