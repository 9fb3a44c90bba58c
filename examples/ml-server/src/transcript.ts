/**
 * A deterministic, transcript-shaped result computed from the downloaded bytes: the same video
 * always gives the same transcript, so tests can compare results, and different videos differ.
 * Nothing here listens to the audio; it only has to look like what WhisperX sends.
 */
import { createHash, type Hash } from 'node:crypto';
import type { MlResultV10, MlResultV11 } from './types.js';

/** What the download leaves behind: enough to seed the transcript without keeping the video. */
export interface VideoDigest {
  /** Bytes downloaded. */
  size: number;
  /** SHA-256 of the bytes, hex. */
  sha256: string;
}

/** Incremental digest, so a 2 GB video never sits in memory. */
export class DigestBuilder {
  #hash: Hash = createHash('sha256');
  #size = 0;
  get size(): number {
    return this.#size;
  }
  update(chunk: Uint8Array): void {
    this.#hash.update(chunk);
    this.#size += chunk.byteLength;
  }
  digest(): VideoDigest {
    return { size: this.#size, sha256: this.#hash.digest('hex') };
  }
}

export interface TranscriptOptions {
  /** Shown as `metadata.filename`. */
  filename: string;
  /** The language the backend asked for; `auto` or missing means "detected": `en`. */
  language?: string | undefined;
  /** Seconds, as `metadata.processing_time`. */
  processingTime: number;
}

/** Says what the transcript is wherever a result is shown: made up by the reference server, not heard. */
export const MODEL_VERSION = 'reference-ml-server-1.0 (made-up transcript, not a model)';

/** A pretend bitrate: 2 Mbit/s, so a 60-minute video is about 900 MB. */
const BYTES_PER_SECOND = 250_000;
const MIN_DURATION = 8;
/** The longest video the ML spec allows: 60 minutes (docs/limits.md). */
const MAX_DURATION = 3600;

const VOCABULARY = [
  'you', 'know', 'we', 'should', 'all', 'go', 'see', 'a', 'musical', 'the', 'video', 'is', 'really',
  'good', 'I', 'think', 'that', 'was', 'great', 'maybe', 'tomorrow', 'again', 'with', 'friends',
  'music', 'sounds', 'nice', 'let', 'us', 'talk', 'about', 'it', 'later', 'okay', 'yes', 'right',
];

type Word = {
  word: string;
  start: number;
  end: number;
  confidence: number;
  volume_db: number;
  pitch_hz: number;
};
type Segment = {
  start: number;
  end: number;
  speaker: string;
  text: string;
  words: Word[];
};

/** mulberry32: tiny, good enough, and the same on every platform. */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const round = (n: number, digits: number) => Number(n.toFixed(digits));

/** Duration in seconds implied by the size of the file. */
export function durationOf(size: number): number {
  return round(Math.min(MAX_DURATION, Math.max(MIN_DURATION, size / BYTES_PER_SECOND)), 2);
}

function buildSegments(video: VideoDigest): { duration: number; segments: Segment[] } {
  const duration = durationOf(video.size);
  const rand = prng(Number.parseInt(video.sha256.slice(0, 8), 16));
  const between = (lo: number, hi: number) => lo + (hi - lo) * rand();
  const segments: Segment[] = [];
  let t = round(between(0.2, 1.2), 3);
  while (t < duration - 1) {
    // The first segment leaves room for a second one, and the first two have different speakers,
    // so every transcript has two speakers, however short the video.
    const room = segments.length === 0 ? Math.max(0.5, (duration - 1 - t) / 2) : Number.POSITIVE_INFINITY;
    const end = Math.min(duration, t + Math.min(between(2.5, 6), room));
    const speaker = segments.length < 2 ? segments.length : rand() < 0.5 ? 0 : 1;
    const words: Word[] = [];
    let w = t;
    while (w < end - 0.25) {
      const wordEnd = Math.min(end, w + between(0.15, 0.6));
      words.push({
        word: VOCABULARY[Math.floor(rand() * VOCABULARY.length)] ?? 'okay',
        start: round(w, 3),
        end: round(wordEnd, 3),
        confidence: round(between(0.62, 0.99), 3),
        volume_db: round(between(-35, -10), 2),
        pitch_hz: round(speaker === 0 ? between(95, 180) : between(165, 320), 2),
      });
      w = wordEnd + between(0.03, 0.15);
    }
    if (words.length > 0) {
      const sentence = words.map((x) => x.word).join(' ');
      segments.push({
        start: round(t, 3),
        end: round(words.at(-1)?.end ?? end, 3),
        speaker: `SPEAKER_0${speaker}`,
        text: `${sentence.charAt(0).toUpperCase()}${sentence.slice(1)}.`,
        words,
      });
    }
    t = end + between(0.2, 1.0);
  }
  return { duration, segments };
}

function speakerStats(segments: Segment[]): Record<string, { total_duration: number; segment_count: number }> {
  const stats: Record<string, { total_duration: number; segment_count: number }> = {};
  for (const s of segments) {
    const entry = (stats[s.speaker] ??= { total_duration: 0, segment_count: 0 });
    entry.total_duration = round(entry.total_duration + (s.end - s.start), 3);
    entry.segment_count += 1;
  }
  return stats;
}

function detectedLanguage(requested: string | undefined): string {
  return requested && requested !== 'auto' ? requested : 'en';
}

/**
 * The v1.1 result (`openapi/v1.1/ml-server.yaml`): `text`, `language`, `duration`, metadata with `model_version` and
 * `processing_time`, segments timed by `start`/`end` with the speaker as a string and words
 * carrying confidence and acoustics, and `speakers` as the dict WhisperX sends.
 *
 * @example
 * const result = buildResultV11({ size: 1_000_000, sha256: 'ab…' }, { filename: 'a.mp4', processingTime: 1.2 });
 */
export function buildResultV11(video: VideoDigest, opts: TranscriptOptions): MlResultV11 {
  const { duration, segments } = buildSegments(video);
  const language = detectedLanguage(opts.language);
  const speakers = speakerStats(segments);
  return {
    text: segments.map((s) => s.text).join(' '),
    language,
    duration,
    metadata: {
      filename: opts.filename,
      duration,
      language,
      model_version: MODEL_VERSION,
      processing_time: round(opts.processingTime, 2),
      total_segments: segments.length,
      unique_speakers: Object.keys(speakers).length,
    },
    speakers,
    segments: segments.map((s, id) => ({ id, start: s.start, end: s.end, text: s.text, speaker: s.speaker, words: s.words })),
  };
}

/**
 * The v1.0 result (`openapi/v1.0/ml-server.yaml`): segments timed by `start_time`/`end_time`,
 * `speaker: {speaker_id}`, words with `volume_db`/`pitch_hz` and no confidence.
 */
export function buildResultV10(video: VideoDigest, opts: TranscriptOptions): MlResultV10 {
  const { duration, segments } = buildSegments(video);
  return {
    metadata: {
      filename: opts.filename,
      duration,
      total_segments: segments.length,
      unique_speakers: new Set(segments.map((s) => s.speaker)).size,
    },
    segments: segments.map((s) => ({
      start_time: s.start,
      end_time: s.end,
      speaker: { speaker_id: s.speaker },
      text: s.text,
      words: s.words.map(({ word, start, end, volume_db, pitch_hz }) => ({ word, start, end, volume_db, pitch_hz })),
    })),
  };
}

/**
 * What the real ML server sends after swallowing a pipeline error: `completed` with nothing in it.
 */
export function emptyResultV11(opts: TranscriptOptions): MlResultV11 {
  const language = detectedLanguage(opts.language);
  return {
    text: '',
    language,
    duration: 0,
    metadata: {
      filename: opts.filename,
      duration: 0,
      language,
      model_version: MODEL_VERSION,
      processing_time: round(opts.processingTime, 2),
      total_segments: 0,
      unique_speakers: 0,
    },
    segments: [],
  };
}

export function emptyResultV10(opts: TranscriptOptions): MlResultV10 {
  return { metadata: { filename: opts.filename, duration: 0, total_segments: 0, unique_speakers: 0 }, segments: [] };
}
