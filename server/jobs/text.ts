/**
 * PostgreSQL cannot store U+0000 in `text` or `jsonb`, and JSON allows it. Values that reach the
 * database lose it here, so a callback or request that carries one is stored rather than refused
 * (the real ML server does not retry, so a refused result would be lost).
 */
export function withoutNul<T>(value: T): T {
  if (typeof value === 'string') return (value.includes('\u0000') ? value.replaceAll('\u0000', '') : value) as T;
  if (Array.isArray(value)) return value.map(withoutNul) as T;
  if (value !== null && typeof value === 'object') {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [withoutNul(k), withoutNul(v)])) as T;
  }
  return value;
}
