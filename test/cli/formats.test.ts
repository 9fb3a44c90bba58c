/** The output formats of `ecg transcribe`: text, json, SubRip and WebVTT renderings of one result. */
import type { TranscriptResult } from '@ecg/sdk';
import { describe, expect, it } from 'vitest';
import { render } from '../../clients/cli/src/format.js';
import { toSrt, toVtt } from '../../clients/cli/src/subtitles.js';

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

describe('SubRip', () => {
  it('numbers the cues with text from 1, with comma-separated millisecond timings and the speaker in front', () => {
    expect(toSrt(talk)).toBe(
      [
        '1\n00:00:00,500 --> 00:00:01,250\nSPEAKER_00: Hello there.\n',
        '2\n00:01:01,000 --> 00:01:03,000\nSPEAKER_01: Fine, thanks and you?\n',
        '3\n01:02:05,125 --> 01:02:06,000\nKept <on> the record & more\n',
      ].join('\n'),
    );
  });

  it('never ends a cue before it starts, and keeps a timing arrow out of the text', () => {
    expect(toSrt(result([segment(0, 5, 4, 'SPEAKER_00', 'a --> b')]))).toBe('1\n00:00:05,000 --> 00:00:05,000\nSPEAKER_00: a -> b\n');
  });

  it('is empty for a transcript without segments', () => {
    expect(toSrt(result([], ''))).toBe('');
  });
});

describe('WebVTT', () => {
  it('starts with the WEBVTT header, times cues with dots and names the speaker in a voice span, escaping markup', () => {
    expect(toVtt(talk)).toBe(
      [
        'WEBVTT\n',
        '00:00:00.500 --> 00:00:01.250\n<v SPEAKER_00>Hello there.\n',
        '00:01:01.000 --> 00:01:03.000\n<v SPEAKER_01>Fine, thanks and you?\n',
        '01:02:05.125 --> 01:02:06.000\nKept &lt;on&gt; the record &amp; more\n',
      ].join('\n'),
    );
  });

  it('is only the header for a transcript without segments', () => {
    expect(toVtt(result([], ''))).toBe('WEBVTT\n');
  });
});

describe('text and json', () => {
  it('prints one speaker-prefixed line per segment with text, each on one line', () => {
    expect(render(talk, 'text')).toBe('SPEAKER_00: Hello there.\nSPEAKER_01: Fine, thanks and you?\nKept <on> the record & more\n');
  });

  it('falls back to the whole text when the result has no segments', () => {
    expect(render(result([], 'Only the text.'), 'text')).toBe('Only the text.\n');
  });

  it('prints the canonical result itself as json', () => {
    expect(JSON.parse(render(talk, 'json'))).toEqual(talk);
  });

  it('renders srt and vtt through the subtitle functions', () => {
    expect(render(talk, 'srt')).toBe(toSrt(talk));
    expect(render(talk, 'vtt')).toBe(toVtt(talk));
  });
});
