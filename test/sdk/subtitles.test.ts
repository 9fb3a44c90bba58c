/**
 * toSrt and toVtt, checked by reading their output back with maintained parsers: `webvtt-parser`
 * (the W3C validator's parser: it reports every syntax error, and gives each cue's tag tree) and
 * `srt-parser-2`.
 */
import { createRequire } from 'node:module';
import SrtParser from 'srt-parser-2';
import { describe, expect, it } from 'vitest';
import { type CueNode, type ParsedCue,WebVTTParser } from 'webvtt-parser';
import type { TranscriptResult } from '../../sdk/src/index.js';
import { toSrt, toVtt } from '../../sdk/src/subtitles.js';
import { type SegmentSpec,transcript } from './transcripts.js';

// The full entity table: the parser's built-in one decodes `&lt;` as "<;".
const entities = createRequire(import.meta.url)('webvtt-parser/html-entities.json') as Record<string, string>;

function parseVtt(vtt: string): ParsedCue[] {
  const { cues, errors } = new WebVTTParser(entities).parse(vtt);
  expect(errors).toEqual([]);
  return cues;
}

/** The text a player shows for a cue tree (tags dropped, entities decoded). */
const shown = (nodes: CueNode[]): string =>
  nodes.map((n) => (n.type === 'text' ? n.value : n.type === 'object' ? shown(n.children) : '')).join('');
const voices = (nodes: CueNode[]): string[] => nodes.flatMap((n) => (n.type === 'object' ? (n.name === 'v' ? [n.value ?? ''] : voices(n.children)) : []));
const stamps = (nodes: CueNode[]): number[] => nodes.flatMap((n) => (n.type === 'timestamp' ? [n.value] : n.type === 'object' ? stamps(n.children) : []));

const parseSrt = (srt: string) => new SrtParser().fromSrt(srt);

const words = (text: string) => text.split(/\s+/).filter(Boolean);
/** Times compared in whole milliseconds, as both formats write them. */
const ms = (seconds: number | null | undefined) => Math.round((seconds ?? NaN) * 1000);

const LONG =
  'So the first thing we did was to measure how long each upload took, and then we compared it with what the users told us about the waiting, which was not at all the same story';

describe('toVtt', () => {
  it('writes one cue per short segment, the speaker as a voice tag, times to the millisecond', () => {
    const result = transcript([
      { speaker: 'SPEAKER_00', start: 0, text: 'Hello there.' },
      { speaker: 'SPEAKER_01', start: 3723.5, text: 'Hi, how are you?' },
    ]);
    const vtt = toVtt(result);
    expect(vtt.startsWith('WEBVTT\n\n')).toBe(true);
    const cues = parseVtt(vtt);
    expect(cues.map((c) => [ms(c.startTime), ms(c.endTime), voices(c.tree.children), shown(c.tree.children)])).toEqual([
      [0, ms(result.segments[0]!.end), ['SPEAKER_00'], 'Hello there.'],
      [3_723_500, ms(result.segments[1]!.end), ['SPEAKER_01'], 'Hi, how are you?'],
    ]);
    expect(vtt).toContain('01:02:03.500 --> ');
  });

  it('splits a long segment at word boundaries by line length, lines per cue and cue duration, keeping every word once and in order', () => {
    const result = transcript([{ speaker: 'SPEAKER_00', start: 10, text: LONG, wordSeconds: 0.3 }]);
    for (const limits of [{ maxLineLength: 42, maxLines: 2, maxCueDuration: 7 }, { maxLineLength: 20, maxLines: 1, maxCueDuration: 3 }, { maxLineLength: 60, maxLines: 3, maxCueDuration: 2.5 }]) {
      const cues = parseVtt(toVtt(result, limits));
      expect(cues.length).toBeGreaterThan(1);
      for (const cue of cues) {
        const lines = shown(cue.tree.children).split('\n');
        expect(lines.length).toBeLessThanOrEqual(limits.maxLines);
        for (const line of lines) expect(line.length).toBeLessThanOrEqual(limits.maxLineLength);
        expect(cue.endTime - cue.startTime).toBeLessThanOrEqual(limits.maxCueDuration + 1e-9);
        expect(voices(cue.tree.children)).toEqual(['SPEAKER_00']);
      }
      expect(cues.flatMap((c) => words(shown(c.tree.children)))).toEqual(words(LONG));
      // Each cue starts at its first word and ends at its last one.
      const first = result.segments[0]!.words;
      expect(ms(cues[0]!.startTime)).toBe(ms(first[0]!.start));
      expect(ms(cues.at(-1)!.endTime)).toBe(ms(first.at(-1)!.end));
    }
  });

  it('gives a word longer than a line a line of its own rather than breaking it', () => {
    const cues = parseVtt(toVtt(transcript([{ speaker: 'SPEAKER_00', start: 0, text: 'a Donaudampfschifffahrtsgesellschaftskapitän b' }]), { maxLineLength: 10 }));
    expect(cues.map((c) => shown(c.tree.children))).toEqual(['a\nDonaudampfschifffahrtsgesellschaftskapitän', 'b']);
  });

  it('puts a timestamp tag before every word after the first of a cue, each inside the cue and later than the one before', () => {
    const result = transcript([{ speaker: 'SPEAKER_00', start: 1, text: LONG, wordSeconds: 0.25 }]);
    const vtt = toVtt(result, { wordTimestamps: true });
    const cues = parseVtt(vtt);
    const starts = result.segments[0]!.words.map((w) => ms(w.start));
    const seen = cues.flatMap((c) => [c.startTime, ...stamps(c.tree.children)].map(ms));
    expect(seen).toEqual(starts);
    expect(vtt).toMatch(/^<v SPEAKER_00>So <00:00:01\.250>the <00:00:01\.500>first /m);
    expect(toVtt(result)).not.toMatch(/<\d\d:/);
  });

  it('escapes &, < and > so that they show as written, and never writes --> inside a cue', () => {
    const text = 'Tom & Jerry <b>said</b> a --> b, 1 < 2 > 0 &amp;';
    const result = transcript([{ speaker: 'R&D <team>', start: 0, text }]);
    const vtt = toVtt(result, { wordTimestamps: true });
    const [cue] = parseVtt(vtt);
    expect(shown(cue!.tree.children).replace(/\n/g, ' ')).toBe(text);
    expect(voices(cue!.tree.children)).toEqual(['R&amp;D &lt;team&gt;']);
    const body = vtt.split('\n').filter((line) => !/^\d\d:\d\d:\d\d\.\d{3} --> \d\d:\d\d:\d\d\.\d{3}$/.test(line));
    expect(body.join('\n')).not.toContain('-->');
  });

  it('renames speakers, or leaves them out', () => {
    const result = transcript([
      { speaker: 'SPEAKER_00', start: 0, text: 'One.' },
      { speaker: 'SPEAKER_01', start: 2, text: 'Two.' },
      { speaker: null, start: 4, text: 'Three.' },
    ]);
    const named = parseVtt(toVtt(result, { speakers: (id) => (id === 'SPEAKER_00' ? 'Ana' : '') }));
    expect(named.map((c) => voices(c.tree.children))).toEqual([['Ana'], [], []]);
    const none = parseVtt(toVtt(result, { speakers: false }));
    expect(none.map((c) => [voices(c.tree.children), shown(c.tree.children)])).toEqual([
      [[], 'One.'],
      [[], 'Two.'],
      [[], 'Three.'],
    ]);
  });

  it('shares out the time of a segment without word timings, and fills a word\'s missing times from its neighbours', () => {
    const result = transcript([{ speaker: 'SPEAKER_00', start: 0, text: LONG, noWords: true, seconds: 20 }]);
    const cues = parseVtt(toVtt(result, { maxCueDuration: 5 }));
    expect(cues.length).toBeGreaterThanOrEqual(4);
    expect(ms(cues[0]!.startTime)).toBe(0);
    expect(ms(cues.at(-1)!.endTime)).toBe(20_000);
    expect(cues.flatMap((c) => words(shown(c.tree.children)))).toEqual(words(LONG));

    const gaps = transcript([{ speaker: 'SPEAKER_00', start: 0, text: 'one two three four' }]);
    const w = gaps.segments[0]!.words;
    w[1]!.start = null;
    w[1]!.end = null;
    w[3]!.end = null;
    const [cue] = parseVtt(toVtt(gaps, { wordTimestamps: true }));
    expect(shown(cue!.tree.children)).toBe('one two three four');
    // "two" runs from the end of "one" to the start of "three"; "four" ends with the segment.
    expect(stamps(cue!.tree.children).map(ms)).toEqual([ms(w[0]!.end), ms(w[2]!.start), ms(w[3]!.start)]);
    expect(ms(cue!.endTime)).toBe(ms(gaps.segments[0]!.end));
  });

  it('joins the words of scripts written without spaces without adding any', () => {
    const result = transcript([{ speaker: 'SPEAKER_00', start: 0, text: '今日は良い天気です', chars: true }]);
    expect(parseVtt(toVtt(result)).map((c) => shown(c.tree.children))).toEqual(['今日は良い天気です']);
  });

  it('writes a valid empty file for a transcript without segments', () => {
    const empty: TranscriptResult = { ...transcript([]), segments: [] };
    expect(toVtt(empty)).toBe('WEBVTT\n');
    expect(parseVtt(toVtt(empty))).toEqual([]);
    expect(toSrt(empty)).toBe('');
  });
});

describe('toSrt', () => {
  it('numbers the cues, writes HH:MM:SS,mmm times and the speaker as a prefix', () => {
    const result = transcript([
      { speaker: 'SPEAKER_00', start: 0, text: 'Hello there.' },
      { speaker: 'SPEAKER_01', start: 3723.5, text: 'Hi, how are you?' },
    ]);
    const srt = toSrt(result);
    expect(srt).toContain('\n01:02:03,500 --> ');
    expect(parseSrt(srt).map((c) => [c.id, ms(c.startSeconds), ms(c.endSeconds), c.text])).toEqual([
      ['1', 0, ms(result.segments[0]!.end), 'SPEAKER_00: Hello there.'],
      ['2', 3_723_500, ms(result.segments[1]!.end), 'SPEAKER_01: Hi, how are you?'],
    ]);
  });

  it('splits like toVtt, counting the speaker prefix in the first line', () => {
    const result = transcript([{ speaker: 'SPEAKER_00', start: 0, text: LONG, wordSeconds: 0.3 }]);
    const cues = parseSrt(toSrt(result, { maxLineLength: 42, maxCueDuration: 6 }));
    expect(cues.length).toBeGreaterThan(2);
    for (const cue of cues) {
      const lines = cue.text.split('\n');
      expect(lines[0]!.startsWith('SPEAKER_00: ')).toBe(true);
      expect(lines.length).toBeLessThanOrEqual(2);
      for (const line of lines) expect(line.length).toBeLessThanOrEqual(42);
      expect(cue.endSeconds - cue.startSeconds).toBeLessThanOrEqual(6 + 1e-9);
    }
    expect(cues.flatMap((c) => words(c.text.replace(/^SPEAKER_00: /, '')))).toEqual(words(LONG));
  });

  it('never writes --> inside a cue, so no text line can pass for a timing line', () => {
    const srt = toSrt(transcript([{ speaker: 'A-->B', start: 0, text: 'left ---> right --> end' }]));
    const [cue] = parseSrt(srt);
    expect(cue!.text).toBe('A->B: left -> right -> end');
    expect(srt.split('\n').filter((line) => line.includes('-->'))).toHaveLength(1);
  });
});

describe('the transcripts these tests build', () => {
  it('time every word inside its segment', () => {
    const spec: SegmentSpec = { speaker: 'SPEAKER_00', start: 5, text: 'a b c', wordSeconds: 0.5 };
    const [segment] = transcript([spec]).segments;
    expect(segment!.words.map((w) => [w.word, w.start, w.end])).toEqual([
      ['a', 5, 5.4],
      ['b', 5.5, 5.9],
      ['c', 6, 6.4],
    ]);
    expect([segment!.start, segment!.end]).toEqual([5, 6.4]);
  });
});
