/**
 * Callbacks as ML servers send them: bodies generated against the `mlCallback` callback schema of
 * each version's ML server document (all seven keys with nulls, or keys left out; every result
 * variant: segments timed by start/end or start_time/end_time, the speaker as a string, as
 * {speaker_id} or as speaker_id beside it, acoustics on the word or under acoustic_features,
 * confidence on the word, as score or in a parallel word_segments, speakers as a dict, a list or
 * absent, text and words null, empty segments; bodies `\uXXXX`-escaped as Python writes them).
 *
 * v1.1: the job is dispatched for real and the callbacks go to `{fastapi_base_url}/api/upload-video/result`,
 * unsigned, as the real ML server sends them. v1.0: to `/api/v1/ml/ml-results` with the
 * X-Signature-256 of version 1.0. Every callback must get 200; afterwards the job's status validates against
 * JobStatusResponse/TranscriptResult (by the contract check) and holds the normalised result.
 */
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { dereference, type JsonSchema, type SpecVersion } from '../../scripts/spec.js';
import { createTestApp, PUBLIC_BASE, type TestApp } from '../support/app.js';
import { schemaProblems } from '../support/contract.js';
import { property, text } from './generate.js';
import { asciiJson, post, WEBHOOK_SECRET, xSignature } from './helpers.js';

type Obj = Record<string, unknown>;
const VERSIONS = ['v1.0', 'v1.1'] as const;
const apps = new Map<string, TestApp>();
let sent = 0;

beforeAll(async () => {
  for (const version of VERSIONS) {
    // A database of its own: the dispatcher claims every pending job it sees.
    apps.set(version, await createTestApp({ WEBHOOK_SECRET, ML_API_VERSION: version, RATE_LIMIT_PER_MINUTE: '0' }, undefined, { isolatedDatabase: true }));
  }
});
afterAll(async () => {
  console.log(`generated ML callbacks sent: ${sent}`);
  await Promise.all([...apps.values()].map((a) => a.close()));
});

/** The callback the version's ML-server spec documents: its URL expression and its body schema. */
function mlCallback(version: SpecVersion): { url: string; schema: JsonSchema } {
  const callbacks = dereference(version, 'ml-server').paths['/api/upload-video/process-video'].post.callbacks.mlCallback as Record<string, JsonSchema>;
  const [url, item] = Object.entries(callbacks)[0]!;
  return { url, schema: item.post.requestBody.content['application/json'].schema as JsonSchema };
}

// ---------------------------------------------------------------------------------------------
// Result variants

const time = fc.double({ min: 0, max: 7200, noNaN: true });
const maybe = <T>(arb: fc.Arbitrary<T>) => fc.option(arb, { nil: null });
const speakerId = fc.constantFrom('SPEAKER_00', 'SPEAKER_01', 'SPEAKER_02', '화자_1');

const wordArb = fc
  .record({
    word: fc.oneof({ weight: 5, arbitrary: text(1, 12) }, { weight: 1, arbitrary: fc.constant(null) }),
    start: maybe(time),
    end: maybe(time),
    confidence: fc.constantFrom('word', 'score', 'none'),
    conf: fc.double({ min: 0, max: 1, noNaN: true }),
    acoustics: fc.constantFrom('word', 'nested', 'none', 'nulls'),
    volume: fc.double({ min: -90, max: 0, noNaN: true }),
    pitch: fc.double({ min: 40, max: 1000, noNaN: true }),
  })
  .map(({ word, start, end, confidence, conf, acoustics, volume, pitch }) => {
    const w: Obj = { word, start, end };
    if (confidence === 'word') w.confidence = conf;
    if (confidence === 'score') w.score = conf;
    if (acoustics === 'word') Object.assign(w, { volume_db: volume, pitch_hz: pitch });
    if (acoustics === 'nested') w.acoustic_features = { volume_db: volume, pitch_hz: pitch };
    if (acoustics === 'nulls') Object.assign(w, { volume_db: null, pitch_hz: null, acoustic_features: null });
    return w;
  });

const segmentArb = fc
  .record({
    timing: fc.constantFrom('start', 'start_time', 'both'),
    start: time,
    length: fc.double({ min: 0, max: 30, noNaN: true }),
    speaker: fc.constantFrom('string', 'object', 'beside', 'object-null', 'none'),
    who: speakerId,
    text: fc.oneof({ weight: 5, arbitrary: text(0, 80) }, { weight: 1, arbitrary: fc.constant(null) }),
    words: fc.oneof({ weight: 5, arbitrary: fc.array(wordArb, { maxLength: 4 }) }, { weight: 1, arbitrary: fc.constant(null) }),
    id: fc.option(fc.integer({ min: 0, max: 1000 }), { nil: undefined }),
  })
  .map(({ timing, start, length, speaker, who, text: t, words, id }) => {
    const s: Obj = { text: t, words };
    if (id !== undefined) s.id = id;
    if (timing !== 'start_time') Object.assign(s, { start, end: start + length });
    if (timing !== 'start') Object.assign(s, { start_time: start, end_time: start + length });
    if (speaker === 'string') s.speaker = who;
    if (speaker === 'object') s.speaker = { speaker_id: who, confidence: 0.9 };
    if (speaker === 'beside') s.speaker_id = who;
    if (speaker === 'object-null') s.speaker = { speaker_id: null };
    return s;
  });

const resultArb = fc
  .record({
    segments: fc.oneof({ weight: 6, arbitrary: fc.array(segmentArb, { maxLength: 5 }) }, { weight: 1, arbitrary: fc.constant([]) }, { weight: 1, arbitrary: fc.constant(null) }),
    text: fc.option(maybe(text(0, 100)), { nil: undefined }),
    language: fc.option(maybe(fc.constantFrom('en', 'ko', 'ja')), { nil: undefined }),
    duration: fc.constantFrom('top', 'metadata', 'both', 'none'),
    seconds: fc.double({ min: 0, max: 3600, noNaN: true }),
    metadata: fc.constantFrom('full', 'partial', 'null', 'absent'),
    speakers: fc.constantFrom('dict', 'list', 'null', 'absent'),
    wordSegments: fc.constantFrom('parallel', 'null', 'absent'),
  })
  .map(({ segments: generated, text: t, language, duration, seconds, metadata, speakers, wordSegments }) => {
    const segments = generated as Obj[] | null;
    const r: Obj = { segments };
    if (t !== undefined) r.text = t;
    if (language !== undefined) r.language = language;
    if (duration === 'top' || duration === 'both') r.duration = seconds;
    const meta: Obj = metadata === 'full' ? { filename: 'clip.mp4', language: 'en', model_version: 'whisperx-large-v3', processing_time: 12.5, total_segments: segments?.length ?? 0, unique_speakers: 1 } : { model_version: 'whisperx-base' };
    if (duration === 'metadata' || duration === 'both') meta.duration = seconds;
    if (metadata === 'null') r.metadata = null;
    else if (metadata !== 'absent' || duration === 'metadata') r.metadata = meta;
    const ids = [...new Set((segments ?? []).map((s) => (typeof s.speaker === 'string' ? s.speaker : typeof s.speaker_id === 'string' ? s.speaker_id : (s.speaker as Obj | undefined)?.speaker_id)).filter((x): x is string => typeof x === 'string'))];
    if (speakers === 'dict') r.speakers = Object.fromEntries(ids.map((id) => [id, { total_duration: 1.5, segment_count: 1 }]));
    if (speakers === 'list') r.speakers = ids;
    if (speakers === 'null') r.speakers = null;
    const allWords = (segments ?? []).flatMap((s) => (Array.isArray(s.words) ? (s.words as Obj[]) : []));
    if (wordSegments === 'parallel') r.word_segments = allWords.map((w, i) => ({ word: w.word, start: w.start, end: w.end, score: (i % 10) / 10 }));
    if (wordSegments === 'null') r.word_segments = null;
    return r;
  });

const progressArb = fc.record({
  progress: fc.oneof(maybe(fc.integer({ min: 0, max: 100 })), fc.double({ min: -50, max: 250, noNaN: true })),
  message: maybe(text(0, 60)),
});

const sequenceArb = fc.record({
  progress: fc.array(progressArb, { maxLength: 3 }),
  outcome: fc.oneof(
    { weight: 3, arbitrary: fc.record({ kind: fc.constant('completed' as const), result: resultArb, progress: maybe(fc.constantFrom(100, 99.5)) }) },
    { weight: 1, arbitrary: fc.record({ kind: fc.constant('completed' as const), result: fc.constant(null), progress: fc.constant(100) }) },
    { weight: 1, arbitrary: fc.record({ kind: fc.constant('failed' as const), code: maybe(fc.oneof(fc.constantFrom('DOWNLOAD_ERROR', 'PROCESSING_ERROR', 'INVALID_REQUEST', 'AUDIO_EXTRACTION_ERROR'), text(1, 30))), message: maybe(text(0, 100)), progress: maybe(fc.integer({ min: 0, max: 100 })) }) },
  ),
  allKeys: fc.boolean(),
  ascii: fc.boolean(),
});

// ---------------------------------------------------------------------------------------------
// Expectations from the contract: every result shape ML servers send, normalised (docs/results.md)

const num = (v: unknown) => (typeof v === 'number' ? v : undefined);

function keysDeep(value: unknown, out = new Set<string>()): Set<string> {
  if (Array.isArray(value)) value.forEach((v) => keysDeep(v, out));
  else if (value && typeof value === 'object') {
    for (const [k, v] of Object.entries(value)) {
      out.add(k);
      keysDeep(v, out);
    }
  }
  return out;
}

function expectNormalised(given: Obj | null, result: Obj): void {
  const sent = JSON.parse(JSON.stringify(given)) as Obj | null; // what went over the wire (-0 is 0 there)
  expect(keysDeep(result).has('start_time')).toBe(false);
  expect(keysDeep(result).has('end_time')).toBe(false);
  expect(Array.isArray(result.speakers)).toBe(true);
  const inSegments = Array.isArray(sent?.segments) ? (sent.segments as Obj[]) : [];
  const outSegments = result.segments as Obj[];
  expect(outSegments).toHaveLength(inSegments.length);
  const parallel = Array.isArray(sent?.word_segments) ? (sent.word_segments as Obj[]) : [];
  let w = 0;
  inSegments.forEach((seg, i) => {
    const out = outSegments[i]!;
    const start = num(seg.start) ?? num(seg.start_time);
    const end = num(seg.end) ?? num(seg.end_time);
    if (start !== undefined) expect(out.start).toBe(start);
    if (end !== undefined) expect(out.end).toBe(end);
    const speaker = typeof seg.speaker === 'string' ? seg.speaker : seg.speaker && typeof (seg.speaker as Obj).speaker_id === 'string' ? (seg.speaker as Obj).speaker_id : typeof seg.speaker_id === 'string' ? seg.speaker_id : null;
    expect((out.speaker as Obj).speaker_id).toBe(speaker);
    if (speaker !== null) expect(result.speakers).toContain(speaker);
    const words = Array.isArray(seg.words) ? (seg.words as Obj[]) : [];
    expect(out.words).toHaveLength(words.length);
    words.forEach((word, j) => {
      const o = (out.words as Obj[])[j]!;
      const af = (word.acoustic_features ?? {}) as Obj;
      expect(o.volume_db).toBe(num(word.volume_db) ?? num(af.volume_db) ?? null);
      expect(o.pitch_hz).toBe(num(word.pitch_hz) ?? num(af.pitch_hz) ?? null);
      expect(o.confidence).toBe(num(word.confidence) ?? num(word.score) ?? num(parallel[w]?.score) ?? num(parallel[w]?.confidence) ?? null);
      w += 1;
    });
  });
  const duration = num(sent?.duration) ?? num((sent?.metadata as Obj | null | undefined)?.duration);
  if (duration !== undefined) expect(result.duration).toBe(duration);
}

// ---------------------------------------------------------------------------------------------

describe.each(VERSIONS)('callbacks of ML servers speaking %s', (version) => {
  const { url, schema } = mlCallback(version);

  it(`the spec's callback URL is the one this suite posts to (${url})`, () => {
    expect(url).toBe(version === 'v1.1' ? '{$request.body#/fastapi_base_url}/api/upload-video/result' : 'http://backend:8000/api/v1/ml/ml-results');
  });

  it('every generated callback sequence is accepted (200) and leaves a spec-valid, normalised status', async () => {
    const t = apps.get(version)!;
    await property(`${version} callbacks`, sequenceArb, version === 'v1.1' ? 40 : 30, version === 'v1.1' ? 100 : 200, async (seq) => {
      // A job, dispatched to the (fake) ML server: that is where the v1.1 callback URL comes from.
      const key = await t.upload();
      const created = await post(t, '/api/upload-video/request-process', { fileKey: key });
      const { job_id } = (await created.json()) as { job_id: string };
      await t.dispatcher.tick();
      const call = await vi.waitFor(() => {
        const c = t.mlCalls.find((x) => x.body.job_id === job_id);
        if (!c) throw new Error('not dispatched yet');
        return c;
      });
      const target = version === 'v1.1' ? `${String(call.body.fastapi_base_url)}/api/upload-video/result` : `${PUBLIC_BASE}/api/v1/ml/ml-results`;
      if (version === 'v1.1') expect(String(call.body.fastapi_base_url)).toMatch(/^http:\/\/backend\.test\/api\/ml-callback\/[A-Za-z0-9_-]{16,128}$/);

      const o = seq.outcome;
      const bodies: Obj[] = [
        ...seq.progress.map((p) => ({ job_id, status: 'processing', progress: p.progress, message: p.message, result: null, error_message: null, error_code: null })),
        o.kind === 'completed'
          ? { job_id, status: 'completed', progress: o.progress, message: 'Processing completed', result: o.result, error_message: null, error_code: null }
          : { job_id, status: 'failed', progress: o.progress, message: null, result: null, error_message: o.message, error_code: o.code },
      ];
      for (const full of bodies) {
        // The real (v1.1) ML server sends all seven keys; others may leave the null ones out.
        const body = seq.allKeys || version === 'v1.1' ? full : Object.fromEntries(Object.entries(full).filter(([, v]) => v !== null));
        expect(schemaProblems(schema, body, 'generated callback'), 'the generator must produce what the spec allows').toEqual([]);
        const raw = seq.ascii ? asciiJson(body) : JSON.stringify(body);
        const headers: Record<string, string> = { 'content-type': 'application/json', ...(version === 'v1.0' ? { 'X-Signature-256': xSignature(WEBHOOK_SECRET, raw) } : {}) };
        sent += 1;
        const res = await t.fetch(target, { method: 'POST', headers, body: raw });
        const text = await res.text();
        expect(res.status, text).toBe(200);
        expect(JSON.parse(text)).toMatchObject({ status: 'received' });
      }

      const status = await t.fetch(`${PUBLIC_BASE}/api/upload-video/status/${job_id}`);
      expect(status.status).toBe(200);
      const s = (await status.json()) as Obj;
      if (o.kind === 'completed') {
        expect(s).toMatchObject({ status: 'completed', progress: 100 });
        expectNormalised(o.result, s.result as Obj);
      } else {
        expect(s).toMatchObject({ status: 'failed' });
        // What the ML server said is kept; when it said nothing the backend may name the failure itself.
        if (o.code !== null) expect(s.error_code).toBe(o.code);
        if (o.message !== null) expect(s.error_message).toBe(o.message);
        expect(s).not.toHaveProperty('result');
      }

      // Anything after the end is answered 200 "ignored", never an error the ML server would log.
      const late = JSON.stringify({ job_id, status: 'processing', progress: 50, message: null, result: null, error_message: null, error_code: null });
      const again = await t.fetch(target, { method: 'POST', headers: { 'content-type': 'application/json', ...(version === 'v1.0' ? { 'X-Signature-256': xSignature(WEBHOOK_SECRET, late) } : {}) }, body: late });
      expect(again.status).toBe(200);
      expect(await again.json()).toMatchObject({ status: 'ignored' });
    });
  });
});

// U+0000 is valid JSON but cannot be stored by PostgreSQL; the backend drops the character and keeps the result
// (the real ML server does not retry, so refusing it would lose the transcript).
it('a completed callback whose text contains U+0000 is accepted and stored without it', async () => {
  const t = apps.get('v1.1')!;
  const key = await t.upload();
  const { job_id } = (await (await post(t, '/api/upload-video/request-process', { fileKey: key })).json()) as { job_id: string };
  await t.dispatcher.tick();
  const call = await vi.waitFor(() => t.mlCalls.find((x) => x.body.job_id === job_id) ?? Promise.reject(new Error('not yet')));
  const res = await t.fetch(`${String(call.body.fastapi_base_url)}/api/upload-video/result`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ job_id, status: 'completed', progress: 100, message: null, result: { segments: [{ start: 0, end: 1, text: 'a\u0000b' }] }, error_message: null, error_code: null }),
  });
  expect(res.status).toBe(200);
  const status = (await (await t.fetch(`${PUBLIC_BASE}/api/upload-video/status/${job_id}`)).json()) as { status: string; result: { segments: Array<{ text: string }> } };
  expect(status.status).toBe('completed');
  expect(status.result.segments[0]!.text).toBe('ab');
});
