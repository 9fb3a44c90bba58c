/**
 * A completion whose result was read piece by piece and written with COPY (server/jobs/callback-body.ts,
 * server/jobs/result-upload.ts) stores exactly what the whole-tree path stores: the same `result` and
 * `raw_result`, for every layout and every awkward string (backslashes, tabs and newlines between
 * tokens, NUL, lone surrogates, bytes that are not UTF-8), on a real PostgreSQL. The staging row
 * never outlives the transaction.
 */
import { randomUUID } from 'node:crypto';
import fc from 'fast-check';
import { afterAll, describe, expect, it } from 'vitest';
import { MlCallbackSchema } from '../../server/generated/v1.1/routes.js';
import { scanCallback } from '../../server/jobs/callback-body.js';
import { createJobStore } from '../../server/jobs/store.js';
import { testDatabase } from '../support/db.js';

const handle = testDatabase();
const store = createJobStore(handle.db);
afterAll(() => handle.close());

async function newJob(): Promise<string> {
  const id = randomUUID();
  await store.create({ id, fileKey: 'videos/anonymous/20261202_000000_talk.mp4', fileSize: 1, contentType: 'video/mp4', language: 'ko', owner: null, idempotencyKey: null, requestHash: null, callbackToken: randomUUID() });
  return id;
}

/** Completes one job through each path with the same result (`body` makes the text for a job id). */
async function bothPaths(body: (jobId: string) => string | Buffer) {
  const [tree, pieces] = [await newJob(), await newJob()];
  const whole = body(tree);
  const parsed = MlCallbackSchema.parse(JSON.parse(Buffer.isBuffer(whole) ? whole.toString('utf8') : whole));
  const a = await store.callback(parsed, 'signature');
  const bytes = body(pieces);
  const scanned = scanCallback(Buffer.isBuffer(bytes) ? bytes : Buffer.from(bytes, 'utf8'));
  expect(scanned?.result).toBeDefined();
  const b = await store.callback(scanned!.callback, 'signature', undefined, scanned!.result);
  expect(a.decision?.outcome).toBe('apply');
  expect(b.decision?.outcome).toBe('apply');
  const rows = await handle.sql<{ id: string; status: string; result: unknown; raw_result: unknown }[]>`
    select id, status, result, raw_result from jobs where id in (${tree}, ${pieces})`;
  const [x, y] = [rows.find((r) => r.id === tree)!, rows.find((r) => r.id === pieces)!];
  expect(y.status).toBe('completed');
  expect(y.result).toEqual(x.result);
  expect(y.raw_result).toEqual(x.raw_result);
  const [left] = await handle.sql<{ n: number }[]>`select count(*)::int as n from result_uploads`;
  expect(left?.n).toBe(0);
  return y;
}

const completion = (jobId: string, result: unknown) => ({ job_id: jobId, status: 'completed', progress: 100, message: 'done', result });

function longResult(minutes: number) {
  const segments = [];
  const wordSegments = [];
  for (let id = 0, t = 0; t < minutes * 60; id++, t += 3.2) {
    const words = Array.from({ length: 6 }, (_, w) => ({ word: ` 단어${w}\\ "q"\t`, start: t + w * 0.5, end: t + w * 0.5 + 0.4, acoustic_features: { volume_db: -20.5, pitch_hz: 180 } }));
    for (const w of words) wordSegments.push({ word: w.word, score: 0.75 });
    segments.push({ start_time: t, end_time: t + 3.2, speaker: { speaker_id: `SPEAKER_0${id % 3}` }, text: `한국어 😀 line\nnext ${id}`, words });
  }
  return { language: 'ko', metadata: { model_version: 'large-v3' }, speakers: { SPEAKER_09: {} }, segments, word_segments: wordSegments };
}

describe('storing a result written piece by piece', () => {
  it('stores a long result, laid out with tabs and CRLF, as the whole-tree path does', async () => {
    const row = await bothPaths((id) => JSON.stringify(completion(id, longResult(10)), null, '\t').replaceAll('\n', '\r\n'));
    const result = row.result as { segments: unknown[]; metadata: { filename: string; unique_speakers: number }; text: string };
    expect(result.segments).toHaveLength(188);
    expect(result.metadata).toMatchObject({ filename: '20261202_000000_talk.mp4', unique_speakers: 4 });
    expect(result.text.startsWith('한국어 😀 line\nnext 0')).toBe(true);
  });

  it('makes NUL, lone surrogates and bytes that are not UTF-8 storable, as the whole-tree path does', async () => {
    await bothPaths((id) => JSON.stringify(completion(id, { text: 'a\u0000b \ud83d end', segments: [{ text: 'x\udc00y', words: [{ word: '\u0000' }] }, { text: '😀' }], speakers: ['\ud800'] })));
    await bothPaths((id) => {
      const bytes = Buffer.from(JSON.stringify(completion(id, { segments: [{ text: 'caf_ ok' }], language: 'fr' })));
      bytes[bytes.indexOf('caf_') + 3] = 0xe9; // Latin-1 é: not UTF-8
      return bytes;
    });
  });

  it('stores numbers JavaScript cannot hold (as null, or rounded) as the whole-tree path does, never failing', async () => {
    const huge = `{"segments":[{"text":"a","big":1e400000,"tiny":-1e-400000,"long":${'9'.repeat(60)},"id64":12345678901234567890}],"extra":1e999,"language":"en"}`;
    await bothPaths((id) => `{"job_id":"${id}","status":"completed","progress":100,"result":${huge}}`);
  });

  it('stores empty and partial results as the whole-tree path does', async () => {
    for (const result of [{}, { segments: null, word_segments: null }, { segments: [] }, { text: '  spaced  ', segments: [{}] }, { word_segments: [{ score: 0.5 }] }]) {
      await bothPaths((id) => JSON.stringify(completion(id, result)));
    }
  });

  it('stores whatever valid result it is given as the whole-tree path does', async () => {
    const text = fc.oneof(fc.string({ unit: 'binary' }), fc.string({ unit: fc.constantFrom('\\', '"', '\t', '\n', '\r', '\u0000', '\ud83d', 'é', '한') }));
    const word = fc.record({ word: text, start: fc.double({ noNaN: true, noDefaultInfinity: true }), score: fc.double({ min: 0, max: 1, noNaN: true }), pitch_hz: fc.integer() }, { requiredKeys: [] });
    const segment = fc.record({ start: fc.integer(), end_time: fc.double({ noNaN: true, noDefaultInfinity: true }), text, speaker: fc.oneof(fc.string(), fc.record({ speaker_id: fc.string() })), words: fc.array(word, { maxLength: 3 }), extra: fc.jsonValue({ maxDepth: 2 }) }, { requiredKeys: [] });
    const result = fc.record({ text, language: fc.string(), segments: fc.array(segment, { maxLength: 4 }), word_segments: fc.array(word, { maxLength: 6 }), speakers: fc.oneof(fc.array(fc.string(), { maxLength: 3 }), fc.dictionary(fc.string().filter((k) => k !== '__proto__'), fc.constant({}), { maxKeys: 2 })), duration: fc.double({ noNaN: true, noDefaultInfinity: true }) }, { requiredKeys: [] });
    await fc.assert(
      fc.asyncProperty(result, fc.boolean(), async (r, pretty) => {
        if (JSON.stringify(r).includes('__proto__')) return;
        await bothPaths((id) => JSON.stringify(completion(id, r), null, pretty ? 2 : undefined));
      }),
      { numRuns: 40 },
    );
  });
});
