/** Transcripts for the subtitle tests: segments whose words are timed one after the other. */
import type { TranscriptResult } from '../../sdk/src/index.js';

export interface SegmentSpec {
  speaker: string | null;
  /** Seconds. */
  start: number;
  text: string;
  /** Time per word (it is spoken for 80 % of it). Default 0.5. */
  wordSeconds?: number;
  /** Split the text into characters instead of at spaces (scripts written without spaces). */
  chars?: boolean;
  /** No word timings at all; the segment lasts `seconds` (default 1 per word). */
  noWords?: boolean;
  seconds?: number;
}

const round = (seconds: number) => Math.round(seconds * 1000) / 1000;

/** A canonical transcript with one segment per spec. */
export function transcript(specs: SegmentSpec[]): TranscriptResult {
  const segments = specs.map((spec, id) => {
    const tokens = spec.chars ? [...spec.text] : spec.text.split(' ').filter(Boolean);
    const step = spec.wordSeconds ?? 0.5;
    const words = spec.noWords
      ? []
      : tokens.map((word, i) => ({
          word,
          start: round(spec.start + i * step),
          end: round(spec.start + i * step + step * 0.8),
          confidence: 0.9,
          volume_db: null,
          pitch_hz: null,
        }));
    const end = spec.noWords ? round(spec.start + (spec.seconds ?? tokens.length)) : (words.at(-1)?.end ?? spec.start);
    return { id, start: spec.start, end, text: spec.text, speaker: { speaker_id: spec.speaker }, words };
  });
  const speakers = [...new Set(specs.map((s) => s.speaker).filter((s): s is string => s !== null))];
  return {
    text: specs.map((s) => s.text).join(' '),
    language: 'en',
    duration: segments.at(-1)?.end ?? 0,
    metadata: {
      filename: 'talk.mp4',
      duration: segments.at(-1)?.end ?? 0,
      language: 'en',
      model_version: 'whisperx-large-v3',
      processing_time: 1,
      total_segments: segments.length,
      unique_speakers: speakers.length,
    },
    speakers,
    segments,
  };
}
