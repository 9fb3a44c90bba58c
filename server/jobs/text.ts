/**
 * Strings on their way into PostgreSQL. JSON allows U+0000 and lone UTF-16 surrogates (`"\ud83d"`, a
 * truncated emoji); PostgreSQL stores neither in `text` or `jsonb`. They are dropped or replaced here,
 * so a callback carrying one is stored rather than refused (the real ML server does not retry, so a
 * refused result would be lost).
 */
const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/g;
const UNSTORABLE = /\u0000|[\uD800-\uDFFF]/;

function storable(s: string): string {
  // Most strings hold neither: test once, rewrite only those that do.
  return UNSTORABLE.test(s) ? s.replaceAll('\u0000', '').replace(LONE_SURROGATE, '\uFFFD') : s;
}

/**
 * `value` with every string made storable. Copies only what changes: a multi-megabyte result with
 * nothing to fix comes back as the same object, not as a second copy of it.
 */
export function storableJson<T>(value: T): T {
  if (typeof value === 'string') return storable(value) as T;
  if (Array.isArray(value)) {
    let out: unknown[] | undefined;
    value.forEach((v, i) => {
      const s = storableJson(v);
      if (s !== v) (out ??= value.slice())[i] = s;
    });
    return (out ?? value) as T;
  }
  if (value !== null && typeof value === 'object') {
    const entries = Object.entries(value);
    const fixed = entries.map(([k, v]) => [storable(k), storableJson(v)] as const);
    const changed = fixed.some(([k, v], i) => k !== entries[i]![0] || v !== entries[i]![1]);
    return (changed ? Object.fromEntries(fixed) : value) as T;
  }
  return value;
}
