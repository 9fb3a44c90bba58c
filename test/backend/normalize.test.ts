/** Every accepted ML result shape (docs/results.md) normalises to the canonical result. */
import { describe, expect, it } from 'vitest';
import { normalizeResult } from '../../server/jobs/normalize.js';

describe('normalizeResult', () => {
  it('reads start_time/end_time (v1.0) and start/end (v1.1) alike', () => {
    const a = normalizeResult({ segments: [{ start_time: 1, end_time: 2, text: 'a' }] });
    const b = normalizeResult({ segments: [{ start: 1, end: 2, text: 'a' }] });
    expect(a.segments).toEqual(b.segments);
    expect(a.segments[0]).toEqual({ id: 0, start: 1, end: 2, text: 'a', speaker: { speaker_id: null }, words: [] });
    expect(a.segments[0]).not.toHaveProperty('start_time');
  });

  it('takes the speaker as a string, as {speaker_id}, or from speaker_id beside it', () => {
    const r = normalizeResult({ segments: [{ start: 0, end: 1, speaker: 'S0' }, { start: 1, end: 2, speaker: { speaker_id: 'S1', confidence: 0.5 } }, { start: 2, end: 3, speaker_id: 'S2' }] });
    expect(r.segments.map((s) => s.speaker.speaker_id)).toEqual(['S0', 'S1', 'S2']);
    expect(r.speakers).toEqual(['S0', 'S1', 'S2']);
    expect(r.metadata.unique_speakers).toBe(3);
  });

  it('reads word acoustics on the word or under acoustic_features, and confidence from word_segments', () => {
    const r = normalizeResult({
      segments: [{ start: 0, end: 1, text: 'x y', words: [{ word: 'x', start: 0, end: 0.5, volume_db: -10, pitch_hz: 100 }, { word: 'y', start: 0.5, end: 1, acoustic_features: { volume_db: -20, pitch_hz: 200 } }] }],
      word_segments: [{ word: 'x', score: 0.8 }, { word: 'y', confidence: 0.7 }],
    });
    expect(r.segments[0]!.words).toEqual([
      { word: 'x', start: 0, end: 0.5, confidence: 0.8, volume_db: -10, pitch_hz: 100 },
      { word: 'y', start: 0.5, end: 1, confidence: 0.7, volume_db: -20, pitch_hz: 200 },
    ]);
  });

  it('finds the duration at result.duration or result.metadata.duration', () => {
    expect(normalizeResult({ duration: 12.5, segments: [] }).duration).toBe(12.5);
    expect(normalizeResult({ metadata: { duration: 143.39 }, segments: [] }).duration).toBe(143.39);
  });

  it('turns speakers given as a dict into a list, and never passes the dict through', () => {
    const r = normalizeResult({ segments: [], speakers: { SPEAKER_00: { total_duration: 3, segment_count: 1 }, SPEAKER_01: { total_duration: 1, segment_count: 1 } } });
    expect(r.speakers).toEqual(['SPEAKER_00', 'SPEAKER_01']);
  });

  it('survives null text and words, and an empty completed result', () => {
    const r = normalizeResult({ segments: [{ start: 0, end: 1, text: null, words: null }] });
    expect(r.segments[0]).toMatchObject({ text: '', words: [] });
    const empty = normalizeResult(null, { filename: 'a.mp4', language: 'ko' });
    expect(empty).toEqual({
      text: '', language: 'ko', duration: null, speakers: [], segments: [],
      metadata: { filename: 'a.mp4', duration: null, language: 'ko', model_version: null, processing_time: null, total_segments: 0, unique_speakers: 0 },
    });
  });

  it('builds the text from the segments when the ML server sends none, and keeps v1.1 metadata', () => {
    const r = normalizeResult({ language: 'en', metadata: { model_version: 'whisperx-base', processing_time: 45.2 }, segments: [{ start: 0, end: 1, text: ' Hello ' }, { start: 1, end: 2, text: 'world' }] });
    expect(r.text).toBe('Hello world');
    expect(r.metadata).toMatchObject({ model_version: 'whisperx-base', processing_time: 45.2, total_segments: 2, language: 'en' });
  });
});
