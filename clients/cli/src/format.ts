/** The output formats of `ecg transcribe --format`. */
import type { TranscriptResult } from '@ecg/sdk';
import { toSrt, toVtt } from '@ecg/sdk/subtitles';

export const FORMATS = ['text', 'json', 'srt', 'vtt'] as const;
export type Format = (typeof FORMATS)[number];

const oneLine = (text: string) => text.replace(/\s+/g, ' ').trim();

/** One line per segment, `SPEAKER_00: text`; the whole text when there are no segments. */
function toText(result: TranscriptResult): string {
  const lines = result.segments
    .filter((s) => oneLine(s.text) !== '')
    .map((s) => `${s.speaker.speaker_id ? `${s.speaker.speaker_id}: ` : ''}${oneLine(s.text)}`);
  if (lines.length === 0 && result.text.trim() !== '') lines.push(result.text.trim());
  return lines.map((l) => `${l}\n`).join('');
}

/** The transcript in `format`, ending with a newline (empty for an empty transcript in `text`). */
export function render(result: TranscriptResult, format: Format): string {
  switch (format) {
    case 'text':
      return toText(result);
    case 'json':
      return `${JSON.stringify(result, null, 2)}\n`;
    case 'srt':
      return toSrt(result);
    case 'vtt':
      return toVtt(result);
  }
}
