/**
 * Reusable buffers for large callback bodies (a 60-minute result is megabytes). A fresh buffer per
 * callback is released only when the garbage collector gets to it, and the allocator keeps the pages
 * even then, so a run of completions would each add their size to the process. Instead each large body
 * is read into a buffer taken from a small pool and given back once the callback has been answered:
 * the process holds at most `keep` idle buffers of at most `largest` bytes each (2 x 16 MiB by
 * default); a larger body gets a buffer of its own, dropped after use.
 */
const MIB = 1024 * 1024;

export interface BodyLease {
  /** Exactly the requested number of bytes, to be filled by the reader. */
  readonly bytes: Buffer;
  /** Gives the buffer back; the bytes must not be used afterwards. */
  release(): void;
}

export function bodyBuffers(opts: { keep?: number; largest?: number } = {}) {
  const keep = opts.keep ?? 2;
  const largest = opts.largest ?? 16 * MIB;
  const idle: Buffer[] = [];
  return {
    take(size: number): BodyLease {
      // The smallest idle buffer that fits.
      let best = -1;
      for (let i = 0; i < idle.length; i += 1) if (idle[i]!.length >= size && (best === -1 || idle[i]!.length < idle[best]!.length)) best = i;
      // Whole MiB, so that bodies of nearly the same size share buffers.
      const backing = best === -1 ? Buffer.allocUnsafeSlow(Math.max(MIB, Math.ceil(size / MIB) * MIB)) : idle.splice(best, 1)[0]!;
      let released = false;
      return {
        bytes: backing.subarray(0, size),
        release() {
          if (released) return;
          released = true;
          if (backing.length <= largest && idle.length < keep) idle.push(backing);
        },
      };
    },
    /** Idle buffers held, for tests. */
    get idle() {
      return idle.length;
    },
  };
}

export type BodyBuffers = ReturnType<typeof bodyBuffers>;
