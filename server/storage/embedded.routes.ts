import { randomBytes } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import type { FileHandle } from 'node:fs/promises';
import { mkdir, open, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { ReadableStream as NodeReadableStream } from 'node:stream/web';
import type { Context } from 'hono';
import { Hono } from 'hono';
import { routePath } from 'hono/route';
import { ApiError } from '../errors.js';
import type { EmbeddedStorage } from './embedded.js';
import { DIR_MODE, embeddedObjects, FILE_MODE, isMissing, normaliseContentType, readContentType } from './embedded.js';
import { placeObject } from './embedded-multipart.js';
import { putPart } from './embedded-multipart.routes.js';
import { parseRange } from './range.js';
import { ByteLimit, IdleLimit, UploadStalled } from './upload-streams.js';

export interface EmbeddedStorageRoutesOptions {
  /**
   * An upload that sends no byte for this long is abandoned and its connection closed. Idle, not
   * total: a large upload over a slow link may take hours, a stalled one must not hold a socket.
   * Default 60 000 ms.
   */
  uploadIdleTimeoutMs?: number;
}

/** The raw (still percent-encoded) part of the path after the mount point, e.g. `videos/a/b%20c.mp4`. */
function rawKeyPath(c: Context): string {
  const pattern = routePath(c); // e.g. '/storage/*'
  const prefix = pattern.endsWith('*') ? pattern.slice(0, -1) : `${pattern}/`;
  const pathname = new URL(c.req.url).pathname;
  if (!pathname.startsWith(prefix)) throw new ApiError('FORBIDDEN', 'The storage key is not valid.');
  return pathname.slice(prefix.length);
}

function queryOf(c: Context): URLSearchParams {
  return new URL(c.req.url).searchParams;
}

interface NodeBindings {
  incoming?: { httpVersionMajor?: unknown; socket?: { destroy(): void } };
}

/** True when running under @hono/node-server on an HTTP/1.x connection (`Connection` is forbidden in HTTP/2). */
function isHttp1(env: unknown): boolean {
  return (env as NodeBindings | undefined)?.incoming?.httpVersionMajor === 1;
}

const SAFE_HEADERS = {
  'X-Content-Type-Options': 'nosniff',
  'Content-Security-Policy': "default-src 'none'; sandbox",
  'Cache-Control': 'private, no-store',
} as const;

/**
 * The HTTP side of the embedded storage, to mount at `/storage`. No CORS here (the app adds it).
 * Answers, in the `{error, message}` envelope when they are errors (docs/storage.md):
 * - PUT: 200 (empty body); 403 FORBIDDEN for a bad, missing or expired signature or an invalid key;
 *   415 when Content-Type differs from the signed one; 413 when Content-Length or the streamed byte
 *   count exceeds the signed max; 409 when the key collides with a "directory" of another key. An
 *   upload whose body stalls has its connection closed. Nothing is left on disk by a refused upload.
 * - GET/HEAD: 200 or 206 (one range), 416, 403, 404 FILE_NOT_FOUND. A HEAD is accepted with a GET signature.
 * - other methods: 405.
 *
 * @example
 * app.route('/storage', embeddedStorageRoutes(storage, { uploadIdleTimeoutMs: 60_000 }));
 */
export function embeddedStorageRoutes(storage: EmbeddedStorage, options: EmbeddedStorageRoutesOptions = {}): Hono {
  const objects = embeddedObjects(storage);
  const idleMs = options.uploadIdleTimeoutMs ?? 60_000;
  const app = new Hono();

  app.onError((err, c) => {
    // A refused PUT usually leaves part of the body unread: ask HTTP/1.1 clients not to reuse the connection,
    // so the next request does not land on a socket the server is about to close.
    const close: Record<string, string> = c.req.method === 'PUT' && isHttp1(c.env) ? { Connection: 'close' } : {};
    if (err instanceof UploadStalled) {
      (c.env as NodeBindings | undefined)?.incoming?.socket?.destroy();
      return c.body(null, 408, close);
    }
    if (err instanceof ApiError) return c.json(err.toBody(), err.status, { ...err.headers, ...close });
    console.error('embedded storage:', err);
    return c.json({ error: 'INTERNAL_ERROR', message: 'Internal storage error.' }, 500, close);
  });

  app.put('/*', async (c) => {
    if (queryOf(c).has('upload_id')) return putPart(c, objects, rawKeyPath(c), queryOf(c), idleMs);
    const signed = objects.verify('PUT', rawKeyPath(c), queryOf(c));
    const sent = normaliseContentType(c.req.header('content-type') ?? '');
    if (sent !== signed.contentType) {
      throw new ApiError('UNSUPPORTED_MEDIA_TYPE', `Content-Type must be ${signed.contentType}, as signed in the URL.`);
    }
    const declared = c.req.header('content-length');
    if (declared !== undefined && /^\d+$/.test(declared) && Number(declared) > signed.maxBytes) {
      throw new ApiError('PAYLOAD_TOO_LARGE', `The upload exceeds the signed limit of ${signed.maxBytes} bytes.`, { max_bytes: signed.maxBytes });
    }
    const files = objects.files(signed.key);
    if (files === null) throw new ApiError('FORBIDDEN', 'The storage key is not valid.');

    await mkdir(objects.tmpDir, { recursive: true, mode: DIR_MODE });
    const id = randomBytes(12).toString('hex');
    const tmpData = path.join(objects.tmpDir, `${id}.data`);
    const tmpMeta = path.join(objects.tmpDir, `${id}.json`);
    const limit = new ByteLimit(signed.maxBytes);
    try {
      const body = c.req.raw.body;
      const source = body ? Readable.fromWeb(body as unknown as NodeReadableStream<Uint8Array>) : Readable.from([]);
      try {
        await pipeline(source, new IdleLimit(idleMs), limit, createWriteStream(tmpData, { flags: 'wx', mode: FILE_MODE }));
        await writeFile(tmpMeta, JSON.stringify({ contentType: signed.contentType, size: limit.bytes }), { flag: 'wx', mode: FILE_MODE });
      } catch (err) {
        // A full disk: nothing of the upload stays (the finally below), and the client is told why.
        const code = (err as { code?: unknown }).code;
        if (code === 'ENOSPC' || code === 'EDQUOT') {
          throw new ApiError('INSUFFICIENT_STORAGE', 'The storage is full: the upload was not stored. Try again later; the operator must free space (DATA_DIR).');
        }
        throw err;
      }
      await placeObject(objects, signed.key, tmpData, tmpMeta);
    } finally {
      await rm(tmpData, { force: true });
      await rm(tmpMeta, { force: true });
    }
    return c.body(null, 200);
  });

  app.get('/*', async (c) => {
    const signed = objects.verify('GET', rawKeyPath(c), queryOf(c));
    const files = objects.files(signed.key);
    if (files === null) throw new ApiError('FORBIDDEN', 'The storage key is not valid.');

    let handle: FileHandle;
    try {
      handle = await open(files.data, 'r');
    } catch (err) {
      if (isMissing(err) || (err as { code?: unknown }).code === 'EISDIR') {
        throw new ApiError('FILE_NOT_FOUND', 'No object with this key.');
      }
      throw err;
    }
    let handed = false;
    try {
      const st = await handle.stat();
      if (!st.isFile()) throw new ApiError('FILE_NOT_FOUND', 'No object with this key.');
      const size = st.size;
      const contentType = (await readContentType(files.meta)) ?? 'application/octet-stream';
      const headers: Record<string, string> = {
        ...SAFE_HEADERS,
        'Content-Type': contentType,
        'Accept-Ranges': 'bytes',
        'Last-Modified': st.mtime.toUTCString(),
      };
      const range = parseRange(c.req.header('range'), size);
      if (range === 'unsatisfiable') {
        throw new ApiError('RANGE_NOT_SATISFIABLE', `The range is outside the object (${size} bytes).`, {}, { 'Content-Range': `bytes */${size}`, 'Accept-Ranges': 'bytes' });
      }
      const start = range?.start ?? 0;
      const end = range?.end ?? size - 1;
      const length = size === 0 ? 0 : end - start + 1;
      headers['Content-Length'] = String(length);
      const status = range ? 206 : 200;
      if (range) headers['Content-Range'] = `bytes ${start}-${end}/${size}`;
      if (c.req.method === 'HEAD' || length === 0) return c.body(null, status, headers);
      const stream = handle.createReadStream({ start, end, autoClose: true });
      handed = true;
      return c.body(Readable.toWeb(stream) as unknown as ReadableStream<Uint8Array>, status, headers);
    } finally {
      if (!handed) await handle.close();
    }
  });

  app.on(['POST', 'PATCH', 'DELETE'], '/*', () => {
    throw new ApiError('METHOD_NOT_ALLOWED', 'Storage URLs accept PUT (upload), GET and HEAD (download).', {}, { Allow: 'GET, HEAD, PUT' });
  });

  return app;
}
