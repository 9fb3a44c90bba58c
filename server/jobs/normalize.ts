/**
 * ML result normalisation (docs/results.md: every accepted result shape and the canonical result).
 * Whatever shape the ML server sent, the status endpoint returns one `TranscriptResult`.
 */
import type { MlResult, TranscriptResult } from '../generated/v1.1/routes.js';

type Segment = TranscriptResult['segments'][number];
type Word = Segment['words'][number];
type Obj = Record<string, unknown>;

const isObj = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);
const num = (v: unknown): number | null => (typeof v === 'number' && Number.isFinite(v) ? v : null);
const str = (v: unknown): string | null => (typeof v === 'string' ? v : null);
const firstNum = (...vs: unknown[]): number | null => {
  for (const v of vs) {
    const n = num(v);
    if (n !== null) return n;
  }
  return null;
};

function speakerId(seg: Obj): string | null {
  const s = seg.speaker;
  if (typeof s === 'string') return s;
  if (isObj(s) && typeof s.speaker_id === 'string') return s.speaker_id;
  return str(seg.speaker_id);
}

function word(w: Obj, confidence: number | null): Word {
  const af = isObj(w.acoustic_features) ? w.acoustic_features : {};
  return {
    word: str(w.word)?.trim() ?? '',
    start: num(w.start),
    end: num(w.end),
    confidence: firstNum(w.confidence, w.score, confidence),
    volume_db: firstNum(w.volume_db, af.volume_db),
    pitch_hz: firstNum(w.pitch_hz, af.pitch_hz),
  };
}

type Fallback = { filename?: string | null; language?: string | null };

/**
 * Normalises a result one segment at a time, for results too large to hold as one tree
 * (server/jobs/result-upload.ts). `head` is the result without its `segments` (and `word_segments`,
 * which `wordAt` hands out by position instead); `segment` is called with each segment object in
 * order, then `finish` gives every field but `segments`.
 */
export function resultNormalizer(head: Obj, fallback: Fallback, wordAt: (index: number) => unknown) {
  const meta: Obj = isObj(head.metadata) ? head.metadata : {};
  // A Set keeps first-seen order and makes this linear: a result may name 100,000 speakers.
  const speakers = new Set<string>();
  // Kept only when the result has no text of its own: then it is the segments' texts joined.
  const texts: string[] | undefined = typeof head.text === 'string' ? undefined : [];
  let count = 0;
  let lastEnd: number | null = null;
  // `word_segments` is parallel to the words of all segments, in order: it may carry the confidence.
  let wordIndex = 0;

  return {
    segment(seg: Obj): Segment {
      const words = (Array.isArray(seg.words) ? seg.words.filter(isObj) : []).map((w) => {
        const parallel = wordAt(wordIndex++);
        return word(w, isObj(parallel) ? firstNum(parallel.confidence, parallel.score) : null);
      });
      const start = firstNum(seg.start, seg.start_time, words[0]?.start) ?? 0;
      const end = firstNum(seg.end, seg.end_time, words.at(-1)?.end) ?? start;
      const text = str(seg.text)?.trim() ?? words.map((w) => w.word).join(' ');
      const speaker = speakerId(seg);
      if (speaker !== null) speakers.add(speaker);
      if (texts && text) texts.push(text);
      lastEnd = end;
      return { id: count++, start, end, text, speaker: { speaker_id: speaker }, words };
    },

    finish(): Omit<TranscriptResult, 'segments'> {
      // Speakers named only in the summary (a dict or a list) still count, after those seen in segments.
      const summary = Array.isArray(head.speakers) ? head.speakers.filter((s): s is string => typeof s === 'string') : isObj(head.speakers) ? Object.keys(head.speakers) : [];
      for (const s of summary) speakers.add(s);
      const duration = firstNum(head.duration, meta.duration, lastEnd);
      const language = str(head.language) ?? str(meta.language) ?? fallback.language ?? null;
      const text = str(head.text)?.trim() ?? texts!.join(' ');
      return {
        text,
        language,
        duration,
        metadata: {
          filename: str(meta.filename) ?? fallback.filename ?? null,
          duration,
          language,
          model_version: str(meta.model_version),
          processing_time: num(meta.processing_time),
          total_segments: count,
          unique_speakers: speakers.size,
        },
        speakers: [...speakers],
      };
    },
  };
}

/**
 * Normalises a result as received (any accepted variant, or null for an empty `completed`).
 *
 * @example
 * normalizeResult({ segments: [{ start_time: 1, end_time: 2, text: 'hi', speaker: 'SPEAKER_00' }] })
 * // -> { text: 'hi', segments: [{ id: 0, start: 1, end: 2, speaker: { speaker_id: 'SPEAKER_00' }, ... }], ... }
 */
export function normalizeResult(raw: MlResult | null | undefined, fallback: Fallback = {}): TranscriptResult {
  const r: Obj = isObj(raw) ? raw : {};
  const wordSegments = Array.isArray(r.word_segments) ? r.word_segments.filter(isObj) : [];
  const n = resultNormalizer(r, fallback, (i) => wordSegments[i]);
  const segments = (Array.isArray(r.segments) ? r.segments.filter(isObj) : []).map((seg) => n.segment(seg));
  const rest = n.finish();
  return { ...rest, segments };
}
