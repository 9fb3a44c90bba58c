/** A single byte range to send, `'unsatisfiable'` (answer 416), or null to send the whole object. */
export type ByteRange = { start: number; end: number } | 'unsatisfiable' | null;

/**
 * One `bytes=` range of a `Range` header against an object of `size` bytes (RFC 9110, section 14.2).
 * Several ranges, other units and malformed values give null: a server may ignore a Range header
 * and send everything, which is simpler and safer than multipart answers.
 *
 * @example
 * parseRange('bytes=0-99', 1000); // { start: 0, end: 99 }
 * parseRange('bytes=-100', 1000); // { start: 900, end: 999 }
 * parseRange('bytes=2000-', 1000); // 'unsatisfiable'
 */
export function parseRange(header: string | undefined, size: number): ByteRange {
  if (header === undefined) return null;
  const m = /^\s*bytes\s*=\s*(\d*)\s*-\s*(\d*)\s*$/i.exec(header);
  if (!m) return null;
  const [, a = '', b = ''] = m;
  if (a === '' && b === '') return null;
  if (a === '') {
    const n = Number(b);
    if (n === 0 || size === 0) return 'unsatisfiable';
    return { start: Math.max(0, size - n), end: size - 1 };
  }
  const start = Number(a);
  const end = b === '' ? size - 1 : Math.min(Number(b), size - 1);
  if (b !== '' && Number(b) < start) return null; // syntactically invalid: ignored
  if (start >= size) return 'unsatisfiable';
  return { start, end };
}
