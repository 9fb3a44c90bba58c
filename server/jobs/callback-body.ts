/**
 * A callback body read piece by piece, so that a multi-megabyte result never exists as one tree of
 * objects (docs/results.md, "Large results"). The envelope (`job_id`, `status`, ...) and the result's
 * small fields are parsed as usual; each element of `result.segments` and `result.word_segments` is
 * only located (its byte range in the body), parsed on its own, validated and dropped. The store
 * later parses the elements one at a time again to write the stored result (server/jobs/result-upload.ts).
 *
 * The answer is the same as parsing and validating the whole body with the route's schema: every byte
 * is either structure checked here (the braces, brackets, colons and commas of the top-level object,
 * the result object and its two arrays) or inside a piece that `JSON.parse` accepted, and the schema is
 * applied piece by piece (it is loose objects all the way down, so its pieces are independent).
 * Whenever the body is not plainly a valid callback (bad JSON, a schema failure, a repeated key at
 * the levels walked here, a `__proto__` anywhere, nesting deeper than MAX_JSON_DEPTH) this returns `undefined`
 * and the caller takes the ordinary path, which parses the whole body and answers the error as always.
 *
 * Written here rather than with a streaming JSON parser from npm: those tokenise every byte in
 * JavaScript and build every value, several times slower than this scan plus `JSON.parse` of each piece,
 * which is what keeps the 60-minute completion callback as fast as before.
 */
import { isUtf8 } from 'node:buffer';
import spec from '../generated/v1.1/backend.openapi.json' with { type: 'json' };
import { type MlCallback, MlCallbackSchema, MlResultSchema, MlSegmentSchema, MlWordSchema } from '../generated/v1.1/routes.js';
import { MAX_JSON_DEPTH } from './text.js';

/** A callback's `result` object, located in the request body. */
export interface ScannedResult {
  /** The whole request body; only read, never changed. */
  readonly body: Buffer;
  /** Where the result object starts and ends in `body`. */
  readonly start: number;
  readonly end: number;
  /** The result's fields other than the two arrays below, parsed (an array given as `null` stays here). */
  readonly head: Record<string, unknown>;
  /** `[start, end)` of each element of `segments` and of `word_segments`, as consecutive pairs; null when not an array. */
  readonly segments: number[] | null;
  readonly wordSegments: number[] | null;
  /**
   * Whether the result's bytes can be stored exactly as sent: valid UTF-8 without a `\u0000` or a
   * `\uD800`-`\uDFFF` escape, which PostgreSQL refuses (server/jobs/text.ts), and without a number
   * JavaScript would not hold as written. Otherwise every piece is parsed, made storable and
   * serialised again, which stores what the ordinary path stores.
   */
  readonly clean: boolean;
}

export interface ScannedCallback {
  /** The validated callback without its `result` when that is an object (then `result` says where it is). */
  callback: MlCallback;
  result: ScannedResult | undefined;
}

const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const OPEN_BRACE = 0x7b;
const CLOSE_BRACE = 0x7d;
const OPEN_BRACKET = 0x5b;
const CLOSE_BRACKET = 0x5d;
const COMMA = 0x2c;
const COLON = 0x3a;
const LOWER_U = 0x75;
const LOWER_E = 0x65;
const UPPER_E = 0x45;
const PROTO = Buffer.from('__proto__');

const limits = spec.components.schemas.MlResult.properties;
const MAX_SEGMENTS = limits.segments.maxItems;
const MAX_WORD_SEGMENTS = limits.word_segments.maxItems;

/** Thrown inside the scan to leave it: the body goes the ordinary way. */
class NotPlain extends Error {}
const notPlain = new NotPlain();

const isSpace = (b: number) => b === 0x20 || b === 0x0a || b === 0x0d || b === 0x09;

function scanner(body: Buffer) {
  const n = body.length;
  // The first backslash at or after the last position asked about (-1: none left, -2: not looked for
  // yet). Positions are asked about in increasing order, so each backslash is searched for once.
  let backslash = -2;
  let escapesClean = true;

  const space = (i: number) => {
    while (i < n && isSpace(body[i]!)) i += 1;
    return i;
  };

  const firstBackslash = (at: number) => {
    if (backslash === -2 || (backslash !== -1 && backslash < at)) backslash = body.indexOf(BACKSLASH, at);
    return backslash;
  };

  /**
   * `\uXXXX` at `at` (just after the `u`). NUL and surrogate halves cannot be stored as sent. An
   * escaped printable ASCII character, which no serialiser writes, could spell a `__proto__` key the
   * literal search in scanCallback would miss: such a body takes the ordinary path.
   */
  const checkEscape = (at: number) => {
    const a = body[at]! | 0x20;
    const b = body[at + 1]! | 0x20;
    const surrogate = a === 0x64 && (b === 0x38 || b === 0x39 || (b >= 0x61 && b <= 0x66)); // d8 to df
    if (surrogate) escapesClean = false;
    else if (a === 0x30 && b === 0x30) {
      const c = body[at + 2]!;
      if (c === 0x30 && body[at + 3] === 0x30) escapesClean = false; // 0000
      else if (c >= 0x32 && c <= 0x37) throw notPlain; // 0020 to 007f
    }
  };

  /** Just past the string that starts at `i` (a quote). */
  const stringEnd = (i: number): number => {
    let at = i + 1;
    for (;;) {
      const quote = body.indexOf(QUOTE, at);
      if (quote === -1) throw notPlain;
      const escape = firstBackslash(at);
      if (escape === -1 || escape > quote) return quote + 1;
      // An escape before the quote: skip the escaped character (which may be a quote) and go on.
      if (body[escape + 1] === LOWER_U) checkEscape(escape + 2);
      at = escape + 2;
    }
  };

  /**
   * Just past the number that starts at `i`. The ordinary path stores a number as JavaScript holds
   * it; PostgreSQL stores the digits as sent. The two agree for the numbers serialisers write (the
   * shortest form of a double); they differ, or PostgreSQL refuses, for an exponent of three digits
   * or more, an integer beyond 2^53 (over 15 digits) or more digits than a double keeps (over 17).
   * A body with such a number is stored piece by piece through JSON.parse, as the ordinary path does.
   */
  const numberEnd = (i: number): number => {
    let at = i;
    let digits = 0;
    let fraction = false;
    let exponent = -1;
    for (; at < n; at += 1) {
      const b = body[at]!;
      if (b >= 0x30 && b <= 0x39) {
        // Significant digits of the mantissa: leading zeros do not count.
        if (exponent === -1 && (digits > 0 || b !== 0x30)) digits += 1;
      } else if (b === LOWER_E || b === UPPER_E) exponent = at + 1;
      else if (b === 0x2e) fraction = true;
      else if (b !== 0x2d && b !== 0x2b) break;
    }
    const exponentDigits = exponent === -1 ? 0 : at - exponent - (body[exponent] === 0x2d || body[exponent] === 0x2b ? 1 : 0);
    if (exponentDigits > 2 || digits > 17 || (digits > 15 && !fraction && exponent === -1)) escapesClean = false;
    return at;
  };

  /** Just past the value that starts at `i`, whose container (if it is one) sits at `depth`. */
  const valueEnd = (i: number, depth: number): number => {
    const c = body[i];
    if (c === QUOTE) return stringEnd(i);
    if (c === OPEN_BRACE || c === OPEN_BRACKET) {
      let open = 0;
      for (let at = i; at < n; at += 1) {
        const b = body[at]!;
        if (b === QUOTE) at = stringEnd(at) - 1;
        else if ((b >= 0x30 && b <= 0x39) || b === 0x2d) at = numberEnd(at) - 1;
        else if (b === OPEN_BRACE || b === OPEN_BRACKET) {
          open += 1;
          if (depth + open - 1 > MAX_JSON_DEPTH) throw notPlain;
        } else if (b === CLOSE_BRACE || b === CLOSE_BRACKET) {
          open -= 1;
          if (open === 0) return at + 1;
        }
      }
      throw notPlain;
    }
    // A number, true, false or null: up to the next delimiter. JSON.parse of the piece checks it.
    if ((c! >= 0x30 && c! <= 0x39) || c === 0x2d) numberEnd(i);
    let at = i;
    while (at < n) {
      const b = body[at]!;
      if (b === COMMA || b === CLOSE_BRACE || b === CLOSE_BRACKET || isSpace(b)) break;
      at += 1;
    }
    if (at === i) throw notPlain;
    return at;
  };

  const parse = (start: number, end: number): unknown => {
    try {
      return JSON.parse(body.toString('utf8', start, end));
    } catch {
      throw notPlain;
    }
  };

  /** Walks the object at `i`, calling `member` with each key and where its value starts; returns just past the object. */
  const object = (i: number, member: (key: string, at: number) => number): number => {
    const keys = new Set<string>();
    let at = space(i + 1);
    if (body[at] === CLOSE_BRACE) return at + 1;
    for (;;) {
      if (body[at] !== QUOTE) throw notPlain;
      const keyEnd = stringEnd(at);
      const key = parse(at, keyEnd) as string;
      if (keys.has(key)) throw notPlain;
      keys.add(key);
      at = space(keyEnd);
      if (body[at] !== COLON) throw notPlain;
      at = space(at + 1);
      if (at >= n) throw notPlain;
      at = space(member(key, at));
      if (body[at] === COMMA) at = space(at + 1);
      else if (body[at] === CLOSE_BRACE) return at + 1;
      else throw notPlain;
    }
  };

  /** Walks the array at `i`, recording each element's range (elements are at `depth`); returns just past it. */
  const array = (i: number, depth: number, ranges: number[]): number => {
    let at = space(i + 1);
    if (body[at] === CLOSE_BRACKET) return at + 1;
    for (;;) {
      if (at >= n) throw notPlain;
      const end = valueEnd(at, depth);
      ranges.push(at, end);
      at = space(end);
      if (body[at] === COMMA) at = space(at + 1);
      else if (body[at] === CLOSE_BRACKET) return at + 1;
      else throw notPlain;
    }
  };

  return { n, space, valueEnd, parse, object, array, escapesClean: () => escapesClean };
}

/** A piece of a scanned result, parsed again (it parsed once already, in the scan). */
export function parsePiece(result: ScannedResult, ranges: number[], index: number): unknown {
  return JSON.parse(result.body.toString('utf8', ranges[2 * index], ranges[2 * index + 1]));
}

/**
 * The callback in `body`, validated as the route's schema validates it, with a `result` object left
 * in place; `undefined` when the body must take the ordinary path (see the module comment).
 */
export function scanCallback(body: Buffer): ScannedCallback | undefined {
  // JSON.parse makes a `__proto__` key an own property, the schema's copy does not: whichever the
  // store kept would differ from what the ordinary path keeps, so such a body takes that path.
  if (body.includes(PROTO)) return undefined;
  const s = scanner(body);
  try {
    let at = s.space(0);
    if (body[at] !== OPEN_BRACE) return undefined;
    const envelope: Record<string, unknown> = {};
    let located: { start: number; end: number; head: Record<string, unknown>; segments: number[] | null; wordSegments: number[] | null } | undefined;
    at = s.object(at, (key, start) => {
      if (key === 'result' && body[start] === OPEN_BRACE) {
        const head: Record<string, unknown> = {};
        let segments: number[] | null = null;
        let wordSegments: number[] | null = null;
        // body = depth 1, result = 2, its arrays = 3, their elements = 4.
        const end = s.object(start, (field, from) => {
          if (body[from] === OPEN_BRACKET && (field === 'segments' || field === 'word_segments')) {
            const ranges: number[] = [];
            const to = s.array(from, 4, ranges);
            if (field === 'segments') segments = ranges;
            else wordSegments = ranges;
            return to;
          }
          const to = s.valueEnd(from, 3);
          head[field] = s.parse(from, to);
          return to;
        });
        located = { start, end, head, segments, wordSegments };
        return end;
      }
      const end = s.valueEnd(start, 2);
      envelope[key] = s.parse(start, end);
      return end;
    });
    if (s.space(at) !== s.n) return undefined;

    const callback = MlCallbackSchema.safeParse(envelope);
    if (!callback.success) return undefined;
    if (!located) return { callback: callback.data, result: undefined };
    const { segments, wordSegments } = located as { segments: number[] | null; wordSegments: number[] | null };
    if (!MlResultSchema.safeParse(located.head).success) return undefined;
    if (!piecesValid(s.parse, segments, MAX_SEGMENTS, MlSegmentSchema) || !piecesValid(s.parse, wordSegments, MAX_WORD_SEGMENTS, MlWordSchema)) return undefined;
    const clean = s.escapesClean() && isUtf8(body.subarray(located.start, located.end));
    return { callback: callback.data, result: { body, ...located, clean } };
  } catch (err) {
    if (err === notPlain) return undefined;
    throw err;
  }
}

function piecesValid(parse: (start: number, end: number) => unknown, ranges: number[] | null, max: number, schema: { safeParse(v: unknown): { success: boolean } }): boolean {
  if (ranges === null) return true;
  if (ranges.length / 2 > max) return false;
  for (let i = 0; i < ranges.length; i += 2) {
    if (!schema.safeParse(parse(ranges[i]!, ranges[i + 1]!)).success) return false;
  }
  return true;
}
