/**
 * Strings on their way into PostgreSQL. JSON allows U+0000 and lone UTF-16 surrogates (`"\ud83d"`, a
 * truncated emoji); PostgreSQL stores neither in `text` or `jsonb`. They are dropped or replaced here,
 * so a callback carrying one is stored rather than refused (the real ML server does not retry, so a
 * refused result would be lost).
 *
 * The walk is iterative and refuses nesting deeper than `MAX_JSON_DEPTH` (docs/limits.md): a result
 * nested thousands of levels deep would otherwise overflow the stack here, or in PostgreSQL's jsonb
 * parser, and answer 500 instead of 422.
 */
import { ApiError } from '../errors.js';

const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/g;

/** No accepted result shape nests deeper than about six levels (docs/results.md). */
export const MAX_JSON_DEPTH = 64;

const SURROGATE = /[\uD800-\uDFFF]/;

function storable(s: string): string {
  if (!s.includes('\u0000') && !SURROGATE.test(s)) return s;
  return s.replaceAll('\u0000', '').replace(LONE_SURROGATE, '\uFFFD');
}

type Container = unknown[] | Record<string, unknown>;

const tooDeep = () =>
  new ApiError('VALIDATION_ERROR', `The request body is nested deeper than ${MAX_JSON_DEPTH} levels.`, {
    details: [{ path: '(body)', message: `nested deeper than ${MAX_JSON_DEPTH} levels` }],
  });

/** The copy of a leaf, or an empty container of the same kind (filled in by the walk). */
function shallow(value: unknown): unknown {
  if (typeof value === 'string') return storable(value);
  if (Array.isArray(value)) return [];
  if (value !== null && typeof value === 'object') return {};
  return value;
}

const needsChange = (s: string) => s.includes('\u0000') || SURROGATE.test(s);

/**
 * Whether any string of `value` (keys too) must change to be stored; refuses too deep a nesting, as
 * the copy does. A multi-megabyte result is nearly always clean, and then needs no copy at all.
 */
function anyUnstorable(value: unknown): boolean {
  if (typeof value === 'string') return needsChange(value);
  if (value === null || typeof value !== 'object') return false;
  const stack: Array<{ from: Container; depth: number }> = [{ from: value as Container, depth: 1 }];
  while (stack.length > 0) {
    const { from, depth } = stack.pop()!;
    if (depth > MAX_JSON_DEPTH) throw tooDeep();
    const visit = (v: unknown): boolean => {
      if (typeof v === 'string') return needsChange(v);
      if (v !== null && typeof v === 'object') stack.push({ from: v as Container, depth: depth + 1 });
      return false;
    };
    if (Array.isArray(from)) {
      for (const v of from) if (visit(v)) return true;
      continue;
    }
    for (const k in from) {
      if (!Object.hasOwn(from, k)) continue;
      if (needsChange(k) || visit(from[k])) return true;
    }
  }
  return false;
}

/**
 * `value` with every string (keys too) made storable: `value` itself when nothing needs to change,
 * otherwise a copy.
 *
 * @example
 * storableJson({ text: 'a\u0000b' }) // { text: 'ab' }
 */
export function storableJson<T>(value: T): T {
  if (!anyUnstorable(value)) return value;
  const root = shallow(value);
  const stack: Array<{ from: Container; to: Container; depth: number }> = [];
  if (root !== null && typeof root === 'object') stack.push({ from: value as Container, to: root as Container, depth: 1 });
  while (stack.length > 0) {
    const { from, to, depth } = stack.pop()!;
    if (depth > MAX_JSON_DEPTH) throw tooDeep();
    if (Array.isArray(from)) {
      const out = to as unknown[];
      for (let i = 0; i < from.length; i += 1) {
        const v = from[i];
        const copy = shallow(v);
        out[i] = copy;
        if (copy !== null && typeof copy === 'object') stack.push({ from: v as Container, to: copy as Container, depth: depth + 1 });
      }
      continue;
    }
    const out = to as Record<string, unknown>;
    for (const k in from) {
      if (!Object.hasOwn(from, k)) continue;
      const v = from[k];
      const copy = shallow(v);
      const key = storable(k);
      // Defined, not assigned: a `__proto__` key stays an own property, as JSON.parse made it.
      if (key === '__proto__') Object.defineProperty(out, key, { value: copy, enumerable: true, writable: true, configurable: true });
      else out[key] = copy;
      if (copy !== null && typeof copy === 'object') stack.push({ from: v as Container, to: copy as Container, depth: depth + 1 });
    }
  }
  return root as T;
}
