import { describe, expect, it } from 'vitest';
import { parseRange } from '../../server/storage/range.js';

describe('parseRange', () => {
  it('reads a closed range and clamps its end to the last byte', () => {
    expect(parseRange('bytes=0-99', 1000)).toEqual({ start: 0, end: 99 });
    expect(parseRange('bytes=900-5000', 1000)).toEqual({ start: 900, end: 999 });
  });

  it('reads open-ended and suffix ranges', () => {
    expect(parseRange('bytes=990-', 1000)).toEqual({ start: 990, end: 999 });
    expect(parseRange('bytes=-10', 1000)).toEqual({ start: 990, end: 999 });
    expect(parseRange('bytes=-5000', 1000)).toEqual({ start: 0, end: 999 });
  });

  it('calls a range that starts past the end, an empty suffix or any range of an empty object unsatisfiable', () => {
    expect(parseRange('bytes=1000-', 1000)).toBe('unsatisfiable');
    expect(parseRange('bytes=-0', 1000)).toBe('unsatisfiable');
    expect(parseRange('bytes=-1', 0)).toBe('unsatisfiable');
  });

  it('ignores absent, malformed, reversed, multiple and non-byte ranges (the whole object is sent)', () => {
    for (const header of [undefined, 'bytes=', 'bytes=-', 'bytes=9-1', 'bytes=0-1,5-6', 'items=0-1', 'bytes=a-b']) {
      expect(parseRange(header, 1000)).toBeNull();
    }
  });
});
