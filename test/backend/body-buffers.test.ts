/**
 * The pool behind large callback bodies (server/http/body-buffers.ts): a buffer given back is the one
 * the next body of a fitting size gets, no more than `keep` idle buffers are held, and a buffer over
 * `largest` is never kept.
 */
import { describe, expect, it } from 'vitest';
import { bodyBuffers } from '../../server/http/body-buffers.js';

const MIB = 1024 * 1024;

describe('the pool of callback body buffers', () => {
  it('hands out exactly the size asked for, and the same memory again once it is given back', () => {
    const pool = bodyBuffers();
    const first = pool.take(3 * MIB - 5);
    expect(first.bytes.length).toBe(3 * MIB - 5);
    first.bytes[0] = 42;
    first.release();
    first.release(); // twice is once
    expect(pool.idle).toBe(1);
    const again = pool.take(2 * MIB);
    expect(again.bytes.buffer).toBe(first.bytes.buffer);
    expect(again.bytes[0]).toBe(42);
    expect(pool.idle).toBe(0);
  });

  it('gives a body that does not fit an idle buffer a new one, and picks the smallest that fits', () => {
    const pool = bodyBuffers();
    const small = pool.take(MIB);
    const big = pool.take(4 * MIB);
    small.release();
    big.release();
    expect(pool.take(2 * MIB).bytes.buffer).toBe(big.bytes.buffer);
    expect(pool.take(MIB / 2).bytes.buffer).toBe(small.bytes.buffer);
    expect(pool.take(MIB).bytes.buffer).not.toBe(small.bytes.buffer);
  });

  it('keeps at most `keep` idle buffers, and none over `largest`', () => {
    const pool = bodyBuffers({ keep: 2, largest: 8 * MIB });
    const leases = [pool.take(MIB), pool.take(MIB), pool.take(MIB)];
    for (const l of leases) l.release();
    expect(pool.idle).toBe(2);
    const huge = bodyBuffers({ keep: 2, largest: 8 * MIB });
    huge.take(9 * MIB).release();
    expect(huge.idle).toBe(0);
  });
});
