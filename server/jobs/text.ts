/**
 * Strings on their way into PostgreSQL. JSON allows U+0000 and lone UTF-16 surrogates (`"\ud83d"`, a
 * truncated emoji); PostgreSQL stores neither in `text` or `jsonb`. They are dropped or replaced here,
 * so a callback carrying one is stored rather than refused (the real ML server does not retry, so a
 * refused result would be lost).
 */
const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/g;

function storable(s: string): string {
  return s.replaceAll('\u0000', '').replace(LONE_SURROGATE, '\uFFFD');
}

export function storableJson<T>(value: T): T {
  if (typeof value === 'string') return storable(value) as T;
  if (Array.isArray(value)) return value.map(storableJson) as T;
  if (value !== null && typeof value === 'object') {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [storable(k), storableJson(v)])) as T;
  }
  return value;
}
