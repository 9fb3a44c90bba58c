/** The PUT of one multipart part to the embedded storage (a storage URL whose query has `upload_id`). */
import { createHash, randomBytes } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { rename, rm, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { TransformCallback } from 'node:stream';
import { Readable, Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { ReadableStream as NodeReadableStream } from 'node:stream/web';
import type { Context } from 'hono';
import { ApiError } from '../errors.js';
import type { EmbeddedObjects } from './embedded.js';
import { FILE_MODE, isMissing } from './embedded.js';
import { partFile, uploadDir } from './embedded-multipart.js';
import { ByteLimit, IdleLimit } from './upload-streams.js';

/** MD5 of what passes, the ETag S3 gives a part. */
class Md5 extends Transform {
  private readonly hash = createHash('md5');
  override _transform(chunk: Buffer, _encoding: BufferEncoding, callback: TransformCallback): void {
    this.hash.update(chunk);
    callback(null, chunk);
  }
  etag(): string {
    return `"${this.hash.digest('hex')}"`;
  }
}

/**
 * Stores one part: 200 with its `ETag`; 403 for a bad signature; 413 when the body is longer than
 * the part's planned length; 404 FILE_NOT_FOUND when the upload was completed or aborted. A
 * repeated part replaces the earlier one. Nothing is kept of a refused or broken part.
 */
export async function putPart(c: Context, objects: EmbeddedObjects, rawKeyPath: string, query: URLSearchParams, idleMs: number): Promise<Response> {
  const signed = objects.verifyPart(rawKeyPath, query);
  const declared = c.req.header('content-length');
  if (declared !== undefined && /^\d+$/.test(declared) && Number(declared) > signed.maxBytes) {
    throw new ApiError('PAYLOAD_TOO_LARGE', `The part exceeds its planned length of ${signed.maxBytes} bytes.`, { max_bytes: signed.maxBytes });
  }
  const dir = uploadDir(objects, signed.uploadId);
  const missing = () => new ApiError('FILE_NOT_FOUND', 'No unfinished upload with this id.');
  if (dir === null) throw missing();
  try {
    await stat(path.join(dir, 'upload.json'));
  } catch (err) {
    if (isMissing(err)) throw missing();
    throw err;
  }
  const tmp = path.join(dir, `.${randomBytes(8).toString('hex')}.tmp`);
  const limit = new ByteLimit(signed.maxBytes);
  const md5 = new Md5();
  try {
    const body = c.req.raw.body;
    const source = body ? Readable.fromWeb(body as unknown as NodeReadableStream<Uint8Array>) : Readable.from([]);
    await pipeline(source, new IdleLimit(idleMs), limit, md5, createWriteStream(tmp, { flags: 'wx', mode: FILE_MODE }));
    const etag = md5.etag();
    const target = partFile(dir, signed.partNumber);
    await rename(tmp, target);
    await writeFile(`${target}.json`, JSON.stringify({ etag, size: limit.bytes }), { mode: FILE_MODE });
    return c.body(null, 200, { ETag: etag });
  } catch (err) {
    if (isMissing(err)) throw missing(); // aborted while the part was arriving
    throw err;
  } finally {
    await rm(tmp, { force: true });
  }
}
