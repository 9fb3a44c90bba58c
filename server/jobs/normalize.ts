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

/**
 * Normalises a result as received (any accepted variant, or null for an empty `completed`).
 *
 * @example
 * normalizeResult({ segments: [{ start_time: 1, end_time: 2, text: 'hi', speaker: 'SPEAKER_00' }] })
 * // -> { text: 'hi', segments: [{ id: 0, start: 1, end: 2, speaker: { speaker_id: 'SPEAKER_00' }, ... }], ... }
 */
export function normalizeResult(raw: MlResult | null | undefined, fallback: { filename?: string | null; language?: string | null } = {}): TranscriptResult {
  const r: Obj = isObj(raw) ? raw : {};
  const meta: Obj = isObj(r.metadata) ? r.metadata : {};
  const rawSegments = Array.isArray(r.segments) ? r.segments.filter(isObj) : [];
  // `word_segments` is parallel to the words of all segments, in order: it may carry the confidence.
  const wordSegments = Array.isArray(r.word_segments) ? r.word_segments.filter(isObj) : [];
  let wordIndex = 0;

  const segments: Segment[] = rawSegments.map((seg, i) => {
    const words = (Array.isArray(seg.words) ? seg.words.filter(isObj) : []).map((w) => {
      const parallel = wordSegments[wordIndex++];
      return word(w, parallel ? firstNum(parallel.confidence, parallel.score) : null);
    });
    const start = firstNum(seg.start, seg.start_time, words[0]?.start) ?? 0;
    const end = firstNum(seg.end, seg.end_time, words.at(-1)?.end) ?? start;
    const text = str(seg.text)?.trim() ?? words.map((w) => w.word).join(' ');
    return { id: i, start, end, text, speaker: { speaker_id: speakerId(seg) }, words };
  });

  // A Set keeps first-seen order and makes this linear: a result may name 100,000 speakers.
  const speakers = new Set<string>();
  for (const s of segments) if (s.speaker.speaker_id !== null) speakers.add(s.speaker.speaker_id);
  // Speakers named only in the summary (a dict or a list) still count, after those seen in segments.
  const summary = Array.isArray(r.speakers) ? r.speakers.filter((s): s is string => typeof s === 'string') : isObj(r.speakers) ? Object.keys(r.speakers) : [];
  for (const s of summary) speakers.add(s);

  const duration = firstNum(r.duration, meta.duration, segments.at(-1)?.end);
  const language = str(r.language) ?? str(meta.language) ?? fallback.language ?? null;
  const text = str(r.text)?.trim() ?? segments.map((s) => s.text).filter(Boolean).join(' ');

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
      total_segments: segments.length,
      unique_speakers: speakers.size,
    },
    speakers: [...speakers],
    segments,
  };
}
