/**
 * The piecewise reading of a callback body (server/jobs/callback-body.ts) decides exactly as parsing
 * the whole body and validating it with the route's schema: whatever it accepts, the whole-body path
 * accepts with the same values, and the bodies it hands back (bad JSON, repeated keys, too deep) are
 * ones the whole-body path refuses or treats specially.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { MlCallbackSchema } from '../../server/generated/v1.1/routes.js';
import { parsePiece, scanCallback,type ScannedCallback } from '../../server/jobs/callback-body.js';

const JOB = '0b8f5a0e-3c1a-4f7e-9a57-1d2b3c4d5e6f';
const scan = (text: string | Buffer) => scanCallback(typeof text === 'string' ? Buffer.from(text, 'utf8') : text);

/** The whole callback as the scan saw it, rebuilt from its pieces. */
function rebuilt(s: ScannedCallback): unknown {
  const r = s.result;
  if (!r) return s.callback;
  const result: Record<string, unknown> = { ...r.head };
  if (r.segments) result.segments = Array.from({ length: r.segments.length / 2 }, (_, i) => parsePiece(r, r.segments!, i));
  if (r.wordSegments) result.word_segments = Array.from({ length: r.wordSegments.length / 2 }, (_, i) => parsePiece(r, r.wordSegments!, i));
  return { ...s.callback, result };
}

/** What the route's validator makes of the same text. */
function whole(text: string): unknown {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    return undefined;
  }
  const v = MlCallbackSchema.safeParse(parsed);
  return v.success ? v.data : undefined;
}

/** Text, now and then with what PostgreSQL cannot store as sent: NUL and lone surrogate halves. */
const text = fc.oneof(
  { arbitrary: fc.string({ unit: 'binary' }), weight: 4 },
  { arbitrary: fc.string({ unit: fc.constantFrom('\u0000', '\ud83d', '\ude00', '\ud83d\ude00', '"', '\\', '}', ']', '\n', 'a') }), weight: 1 },
);
const mostly = <T, U>(good: fc.Arbitrary<T>, bad: fc.Arbitrary<U>) => fc.oneof({ arbitrary: good, weight: 9 }, { arbitrary: bad, weight: 1 });
const word = fc.record(
  { word: fc.oneof(text, fc.constant(null)), start: fc.double({ noNaN: true, noDefaultInfinity: true }), end: fc.integer(), score: fc.float({ noNaN: true, noDefaultInfinity: true }), extra: fc.jsonValue({ maxDepth: 2 }) },
  { requiredKeys: [] },
);
const segment = fc.record(
  {
    start: fc.double({ noNaN: true, noDefaultInfinity: true }),
    end_time: fc.integer(),
    text: fc.oneof(text, fc.constant(null)),
    speaker: fc.oneof(fc.string(), fc.record({ speaker_id: fc.string() }), fc.constant(null)),
    words: fc.array(word, { maxLength: 4 }),
    id: mostly(fc.nat(), fc.constant(-1)),
  },
  { requiredKeys: [] },
);
const result = fc.record(
  {
    text: mostly(text, fc.integer()),
    language: fc.string(),
    segments: fc.oneof(fc.array(mostly(segment, fc.jsonValue({ maxDepth: 2 })), { maxLength: 5 }), fc.constant(null)),
    word_segments: fc.oneof(fc.array(word, { maxLength: 5 }), fc.constant(null)),
    speakers: fc.oneof(fc.array(fc.string(), { maxLength: 3 }), fc.dictionary(fc.string(), fc.object({ maxDepth: 1 }), { maxKeys: 3 })),
    metadata: fc.record({ filename: fc.string(), duration: fc.double({ noNaN: true, noDefaultInfinity: true }) }, { requiredKeys: [] }),
    other: fc.jsonValue({ maxDepth: 3 }),
  },
  { requiredKeys: [] },
);
const callback = fc.record(
  {
    job_id: mostly(fc.constant(JOB), fc.string()),
    status: mostly(fc.constantFrom('processing', 'completed', 'failed'), fc.constant('done')),
    progress: mostly(fc.integer({ min: 0, max: 100 }), fc.string()),
    message: fc.oneof(text, fc.constant(null)),
    result: mostly(result, fc.oneof(fc.constant(null), fc.jsonValue({ maxDepth: 2 }))),
    error_code: fc.oneof(fc.string(), fc.constant(null)),
    extra: fc.jsonValue({ maxDepth: 2 }),
  },
  { requiredKeys: ['job_id', 'status'] },
);
/** How the text is laid out: compact, indented with spaces or tabs, or with CRLF line ends. */
const layout = fc.constantFrom<(v: unknown) => string>(
  (v) => JSON.stringify(v),
  (v) => JSON.stringify(v, null, 2),
  (v) => JSON.stringify(v, null, '\t'),
  (v) => JSON.stringify(v, null, 1).replaceAll('\n', '\r\n'),
  (v) => ` \n${JSON.stringify(v)}\t\r\n`,
);

describe('reading a callback body piece by piece', () => {
  it('accepts exactly what the whole-body validation accepts, with the same values', () => {
    fc.assert(
      fc.property(callback, layout, (body, lay) => {
        const text = lay(body);
        const expected = whole(text);
        const s = scan(text);
        if (expected === undefined) expect(s).toBeUndefined();
        // A body naming __proto__ anywhere is always handed back (see the module).
        else if (text.includes('__proto__')) expect(s).toBeUndefined();
        else {
          expect(s).toBeDefined();
          expect(rebuilt(s!)).toEqual(expected);
        }
      }),
      { numRuns: 2000 },
    );
  });

  it('refuses whatever is not one JSON object, as JSON.parse does', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'binary', maxLength: 60 }), (junk) => {
        const text = `{"job_id":"${JOB}","status":"completed","result":{"segments":[{"text":"a"}]}}`;
        for (const candidate of [junk, text + junk, text.slice(0, junk.length % text.length), junk + text]) {
          if (whole(candidate) === undefined) expect(scan(candidate)).toBeUndefined();
        }
      }),
      { numRuns: 500 },
    );
  });

  it('finds strings whose escapes hide quotes, backslashes and brackets', () => {
    const text = JSON.stringify({ job_id: JOB, status: 'completed', result: { text: 'a "quoted" \\ back\\"slash ] } [ {', segments: [{ text: '\\\\"}]', words: [{ word: '\\' }] }, { text: '"' }] } });
    const s = scan(text)!;
    expect(s.result!.segments!.length).toBe(4);
    expect(rebuilt(s)).toEqual(JSON.parse(text));
    expect(s.result!.clean).toBe(true);
  });

  it('hands back repeated keys, __proto__ keys and nesting deeper than 64 levels to the whole-body path', () => {
    expect(scan(`{"job_id":"${JOB}","status":"completed","status":"failed"}`)).toBeUndefined();
    expect(scan(`{"job_id":"${JOB}","status":"completed","result":{"text":"a","text":"b"}}`)).toBeUndefined();
    expect(scan(`{"job_id":"${JOB}","status":"completed","__proto__":{}}`)).toBeUndefined();
    expect(scan(`{"job_id":"${JOB}","status":"completed","result":{"speakers":{"__proto__":{}}}}`)).toBeUndefined();
    expect(scan(`{"job_id":"${JOB}","status":"completed","result":{"speakers":{"\\u005f_proto__":{}}}}`)).toBeUndefined();
    const deep = (n: number) => '['.repeat(n) + ']'.repeat(n);
    // The body is level 1, the result 2, segments 3, a segment 4: 60 more levels inside it make 64.
    expect(scan(`{"job_id":"${JOB}","status":"completed","result":{"segments":[{"x":${deep(60)}}]}}`)).toBeDefined();
    expect(scan(`{"job_id":"${JOB}","status":"completed","result":{"segments":[{"x":${deep(61)}}]}}`)).toBeUndefined();
    expect(scan(`{"job_id":"${JOB}","status":"completed","x":${deep(63)}}`)).toBeDefined();
    expect(scan(`{"job_id":"${JOB}","status":"completed","x":${deep(64)}}`)).toBeUndefined();
  });

  it('marks results that cannot be stored as sent: NUL and surrogate escapes, bytes that are not UTF-8, numbers past a double', () => {
    const base = (text: string) => `{"job_id":"${JOB}","status":"completed","result":{"segments":[{"text":"${text}"}]}}`;
    expect(scan(base('caf\\u00e9 \\uAC00'))!.result!.clean).toBe(true);
    const withNumber = (n: string) => `{"job_id":"${JOB}","status":"completed","result":{"segments":[{"text":"a","x":${n}}],"y":${n}}}`;
    for (const n of ['0', '-0.5', '12345', '1e-05', '6.02E23', '1.5e+99', '0.30000000000000004', '9007199254740991'.slice(0, 15)]) expect(scan(withNumber(n))!.result!.clean).toBe(true);
    for (const n of ['1e400', '1e-400', '1E+100', '2e0005', '1'.repeat(40), '12345678901234567890', '0.123456789012345678']) expect(scan(withNumber(n))!.result!.clean).toBe(false);
    expect(scan(base('a\\u0000b'))!.result!.clean).toBe(false);
    expect(scan(base('\\ud83d\\ude00'))!.result!.clean).toBe(false);
    expect(scan(base('\\uDC00'))!.result!.clean).toBe(false);
    const bytes = Buffer.from(base('xx'));
    bytes[bytes.indexOf('xx')] = 0xff;
    expect(scan(bytes)!.result!.clean).toBe(false);
  });

  it('keeps a result that is null or absent in the callback itself', () => {
    expect(scan(`{"job_id":"${JOB}","status":"completed","result":null}`)).toEqual({ callback: { job_id: JOB, status: 'completed', result: null }, result: undefined });
    expect(scan(`{"job_id":"${JOB}","status":"processing","progress":5}`)).toEqual({ callback: { job_id: JOB, status: 'processing', progress: 5 }, result: undefined });
  });
});
