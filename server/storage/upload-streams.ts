/** Stream guards for uploads to the embedded storage: a byte cap and an idle timeout. */
import type { TransformCallback } from 'node:stream';
import { Transform } from 'node:stream';
import { ApiError } from '../errors.js';

/** Counts bytes and fails with 413 once more than `max` have passed. */
export class ByteLimit extends Transform {
  bytes = 0;
  constructor(private readonly max: number) {
    super();
  }
  override _transform(chunk: Buffer, _encoding: BufferEncoding, callback: TransformCallback): void {
    this.bytes += chunk.length;
    if (this.bytes > this.max) {
      callback(new ApiError('PAYLOAD_TOO_LARGE', `The upload exceeds the signed limit of ${this.max} bytes.`, { max_bytes: this.max }));
      return;
    }
    callback(null, chunk);
  }
}

/** The body of an upload stopped arriving: nobody is listening for an answer, the connection is dropped. */
export class UploadStalled extends Error {}

/** Fails with `UploadStalled` when no chunk arrives for `idleMs`. */
export class IdleLimit extends Transform {
  private timer: NodeJS.Timeout;
  constructor(private readonly idleMs: number) {
    super();
    this.timer = this.arm();
  }
  private arm(): NodeJS.Timeout {
    return setTimeout(() => this.destroy(new UploadStalled(`The upload sent nothing for ${this.idleMs} ms.`)), this.idleMs);
  }
  override _transform(chunk: Buffer, _encoding: BufferEncoding, callback: TransformCallback): void {
    this.timer.refresh();
    callback(null, chunk);
  }
  override _flush(callback: TransformCallback): void {
    clearTimeout(this.timer);
    callback();
  }
  override _destroy(err: Error | null, callback: (error?: Error | null) => void): void {
    clearTimeout(this.timer);
    callback(err);
  }
}
