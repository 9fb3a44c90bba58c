/**
 * The output formats of `ecg transcribe`: text and json here; SubRip and WebVTT are the SDK's
 * `@ecg/sdk/subtitles`, tested in test/sdk/subtitles.test.ts.
 */
import { describe, expect, it } from 'vitest';
import type { TranscriptResult } from '@ecg/sdk';
import { toSrt, toVtt } from '@ecg/sdk/subtitles';
import { render } from '../../clients/cli/src/format.js';

type Segment = TranscriptResult['segments'][number];

const segment = (id: number, start: number, end: number, speaker: string | null, text: string): Segment => ({
  id,
  start,
  end,
  text,
  speaker: { speaker_id: speaker },
  words: [],
});

function result(segments: Segment[], text = segments.map((s) => s.text).join(' ')): TranscriptResult {
  return {
    text,
    language: 'en',
    duration: 4000,
    metadata: { filename: 'talk.mp4', duration: 4000, language: 'en', model_version: 'test', processing_time: 1, total_segments: segments.length, unique_speakers: 2 },
    speakers: ['SPEAKER_00', 'SPEAKER_01'],
    segments,
  };
}

const talk = result([
  segment(0, 0.5, 1.25, 'SPEAKER_00', 'Hello there.'),
  segment(1, 61.0004, 62.9996, 'SPEAKER_01', 'Fine,\nthanks   and you?'),
  segment(2, 63, 63.5, 'SPEAKER_00', '   '),
  segment(3, 3725.125, 3726, null, 'Kept <on> the record & more'),
]);

describe('ecg transcribe --format', () => {
  it('prints one speaker-prefixed line per segment with text, each on one line', () => {
    expect(render(talk, 'text')).toBe('SPEAKER_00: Hello there.\nSPEAKER_01: Fine, thanks and you?\nKept <on> the record & more\n');
  });

  it('falls back to the whole text when the result has no segments', () => {
    expect(render(result([], 'Only the text.'), 'text')).toBe('Only the text.\n');
  });

  it('prints the canonical result itself as json', () => {
    expect(JSON.parse(render(talk, 'json'))).toEqual(talk);
  });

  it('renders srt and vtt with the SDK subtitle functions and their default options', () => {
    expect(render(talk, 'srt')).toBe(toSrt(talk));
    expect(render(talk, 'vtt')).toBe(toVtt(talk));
  });
});
