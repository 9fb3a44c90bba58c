import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import type { FileHandle } from 'node:fs/promises';
import { mkdir, open, readFile, rename, rm, stat, unlink, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { Readable, Transform } from 'node:stream';
import type { TransformCallback } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { ReadableStream as NodeReadableStream } from 'node:stream/web';
import { Hono } from 'hono';
import type { Context } from 'hono';
import { routePath } from 'hono/route';
import { ApiError } from '../errors.js';
import { assertExpiresIn, assertPresignUpload, assertSafeKey, decodeKeyPath, encodeKey, isSafeKey, parseUrlWithoutCredentials } from './keys.js';
import type { ObjectInfo, PresignedUpload, PresignUploadOptions, Storage } from './types.js';

/**
 * Embedded storage: objects live on the local disk and are uploaded and downloaded through the
 * service itself, at `${publicBaseUrl}/storage/<key>` (mount `embeddedStorageRoutes(storage)` at `/storage`).
 *
 * URLs (each key segment percent-encoded):
 * - upload:   `PUT  /storage/<key>?expires=<unix s>&ct=<content type>&max=<bytes>&sig=<base64url>`
 * - download: `GET|HEAD /storage/<key>?expires=<unix s>&sig=<base64url>`
 *
 * `sig` = base64url(HMAC-SHA256(secret, "ecg-storage-v1\n<METHOD>\n<key>\n<expires>\n<ct>\n<max>")), with
 * `ct` and `max` empty for downloads. A HEAD is accepted with a GET signature.
 *
 * Answers (errors use the `{error, message}` envelope):
 * - PUT: 200 (empty body) on success; 403 FORBIDDEN for a bad, missing or expired signature or an invalid key;
 *   415 UNSUPPORTED_MEDIA_TYPE when Content-Type differs from the signed one; 413 PAYLOAD_TOO_LARGE when
 *   Content-Length or the streamed byte count exceeds the signed max (nothing is left on disk);
 *   409 CONFLICT when the key collides with a "directory" of another key.
 * - GET/HEAD: 200 or 206 (single range `bytes=a-b`, `bytes=a-`, `bytes=-n`; several ranges or malformed
 *   ranges are ignored and the whole object is sent), 416 RANGE_NOT_SATISFIABLE, 403 FORBIDDEN, 404 FILE_NOT_FOUND.
 * - other methods: 405 METHOD_NOT_ALLOWED.
 *
 * Layout under `dir`: `objects/<key>` (data), `meta/<key>.json` (`{contentType, size}`), `tmp/` (uploads in flight,
 * renamed into place atomically once complete).
 */
export interface EmbeddedStorageOptions {
  /** Directory for the objects; created when missing. */
  dir: string;
  /** How clients reach this service, e.g. `http://localhost:8000` (a path prefix is allowed; trailing slashes are dropped). */
  publicBaseUrl: string;
  /** HMAC key for the URLs, at least 16 bytes. */
  secret: string | Buffer;
  /** Hard cap for one object in bytes; presignUpload signs min(this, opts.maxBytes). */
  maxBytes: number;
}

export interface EmbeddedStorage extends Storage {
  readonly kind: 'embedded';
  readonly dir: string;
  readonly maxBytes: number;
  /** Resolves a raw (still percent-encoded) path tail after `/storage/` and a query into a verified request. Internal. */
  verify(method: 'PUT' | 'GET', rawKeyPath: string, query: URLSearchParams, now?: number): VerifiedRequest;
  /** Absolute path of the object's data file, or null for an unsafe key. Internal. */
  objectPath(key: string): string | null;
  metaPath(key: string): string | null;
  tmpDir(): string;
}

export interface VerifiedRequest {
  key: string;
  /** Signed content type (uploads). */
  contentType: string;
  /** Signed byte limit (uploads). */
  maxBytes: number;
}

const SIGNATURE_VERSION = 'ecg-storage-v1';

function unixNow(): number {
  return Math.floor(Date.now() / 1000);
}

function normaliseContentType(value: string): string {
  return value.trim().toLowerCase();
}

export function createEmbeddedStorage(options: EmbeddedStorageOptions): EmbeddedStorage {
  const dir = path.resolve(options.dir);
  const secret = typeof options.secret === 'string' ? Buffer.from(options.secret, 'utf8') : Buffer.from(options.secret);
  if (secret.length < 16) throw new TypeError('createEmbeddedStorage: secret must be at least 16 bytes');
  if (!Number.isSafeInteger(options.maxBytes) || options.maxBytes < 0) {
    throw new TypeError('createEmbeddedStorage: maxBytes must be a non-negative integer');
  }
  const base = new URL(options.publicBaseUrl);
  if (base.protocol !== 'http:' && base.protocol !== 'https:') {
    throw new TypeError('createEmbeddedStorage: publicBaseUrl must be http(s)');
  }
  const basePath = base.pathname.replace(/\/+$/, '');
  const baseUrl = `${base.origin}${basePath}`;
  const objectsDir = path.join(dir, 'objects');
  const metaDir = path.join(dir, 'meta');
  const tmp = path.join(dir, 'tmp');
  const maxBytes = options.maxBytes;

  function sign(method: string, key: string, expires: number, contentType: string, max: string): Buffer {
    const payload = [SIGNATURE_VERSION, method, key, String(expires), contentType, max].join('\n');
    return createHmac('sha256', secret).update(payload, 'utf8').digest();
  }

  function under(root: string, relative: string): string | null {
    const resolved = path.resolve(root, ...relative.split('/'));
    return resolved.startsWith(root + path.sep) ? resolved : null;
  }

  const storage: EmbeddedStorage = {
    kind: 'embedded',
    dir,
    maxBytes,

    async presignUpload(key: string, opts: PresignUploadOptions): Promise<PresignedUpload> {
      assertPresignUpload(key, opts);
      const ct = normaliseContentType(opts.contentType);
      const max = String(Math.min(opts.maxBytes, maxBytes));
      const expires = unixNow() + opts.expiresIn;
      const sig = sign('PUT', key, expires, ct, max).toString('base64url');
      const query = new URLSearchParams({ expires: String(expires), ct, max, sig });
      return {
        url: `${baseUrl}/storage/${encodeKey(key)}?${query}`,
        method: 'PUT',
        headers: { 'Content-Type': opts.contentType },
        expiresIn: opts.expiresIn,
      };
    },

    async presignDownload(key: string, opts: { expiresIn: number }): Promise<string> {
      assertSafeKey(key);
      assertExpiresIn(opts.expiresIn);
      const expires = unixNow() + opts.expiresIn;
      const sig = sign('GET', key, expires, '', '').toString('base64url');
      return `${baseUrl}/storage/${encodeKey(key)}?${new URLSearchParams({ expires: String(expires), sig })}`;
    },

    async head(key: string): Promise<ObjectInfo | null> {
      const file = storage.objectPath(key);
      const meta = storage.metaPath(key);
      if (file === null || meta === null) return null;
      let size: number;
      try {
        const st = await stat(file);
        if (!st.isFile()) return null;
        size = st.size;
      } catch (err) {
        if (isMissing(err)) return null;
        throw err;
      }
      return { size, contentType: await readContentType(meta) };
    },

    keyFromUrl(input: string): string | null {
      const url = parseUrlWithoutCredentials(input);
      if (!url || url.origin !== base.origin) return null;
      const prefix = `${basePath}/storage/`;
      if (!url.pathname.startsWith(prefix)) return null;
      return decodeKeyPath(url.pathname.slice(prefix.length));
    },

    async ready(): Promise<void> {
      await mkdir(objectsDir, { recursive: true });
      await mkdir(metaDir, { recursive: true });
      await mkdir(tmp, { recursive: true });
      // Proves the directory is writable, not just present.
      const probe = path.join(tmp, `.ready-${randomBytes(6).toString('hex')}`);
      await writeFile(probe, '');
      await unlink(probe);
    },

    verify(method: 'PUT' | 'GET', rawKeyPath: string, query: URLSearchParams, now = unixNow()): VerifiedRequest {
      const key = decodeKeyPath(rawKeyPath);
      if (key === null) throw new ApiError('FORBIDDEN', 'The storage key is not valid.');
      const expires = query.get('expires') ?? '';
      const sig = query.get('sig') ?? '';
      const ct = method === 'PUT' ? (query.get('ct') ?? '') : '';
      const max = method === 'PUT' ? (query.get('max') ?? '') : '';
      if (!/^\d{1,12}$/.test(expires) || sig === '' || (method === 'PUT' && (ct === '' || !/^\d{1,16}$/.test(max)))) {
        throw new ApiError('FORBIDDEN', 'The storage URL is not signed.');
      }
      const expected = sign(method, key, Number(expires), ct, max);
      const given = Buffer.from(sig, 'base64url');
      if (given.length !== expected.length || !timingSafeEqual(given, expected)) {
        throw new ApiError('FORBIDDEN', 'The storage URL signature is not valid.');
      }
      if (Number(expires) < now) throw new ApiError('FORBIDDEN', 'The storage URL has expired.');
      return { key, contentType: ct, maxBytes: Math.min(Number(max || 0), maxBytes) };
    },

    objectPath(key: string): string | null {
      return isSafeKey(key) ? under(objectsDir, key) : null;
    },

    metaPath(key: string): string | null {
      return isSafeKey(key) ? under(metaDir, `${key}.json`) : null;
    },

    tmpDir(): string {
      return tmp;
    },
  };
  return storage;
}

function isMissing(err: unknown): boolean {
  const code = (err as { code?: unknown } | null)?.code;
  return code === 'ENOENT' || code === 'ENOTDIR';
}

async function readContentType(metaFile: string): Promise<string | undefined> {
  try {
    const meta = JSON.parse(await readFile(metaFile, 'utf8')) as { contentType?: unknown };
    return typeof meta.contentType === 'string' ? meta.contentType : undefined;
  } catch {
    return undefined;
  }
}

/** Counts bytes and fails with 413 once more than `max` have passed. */
class ByteLimit extends Transform {
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

type Range = { start: number; end: number } | 'unsatisfiable' | null;

/** One `bytes=` range against `size`; null means "send everything" (no, malformed or multiple ranges). */
export function parseRange(header: string | undefined, size: number): Range {
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
  if (b !== '' && Number(b) < start) return null; // syntactically invalid: ignore
  if (start >= size) return 'unsatisfiable';
  return { start, end };
}

/** True when running under @hono/node-server on an HTTP/1.x connection (`Connection` is forbidden in HTTP/2). */
function isHttp1(env: unknown): boolean {
  const incoming = (env as { incoming?: { httpVersionMajor?: unknown } } | undefined)?.incoming;
  return incoming?.httpVersionMajor === 1;
}

const SAFE_HEADERS = {
  'X-Content-Type-Options': 'nosniff',
  'Content-Security-Policy': "default-src 'none'; sandbox",
  'Cache-Control': 'private, no-store',
} as const;

/**
 * The HTTP side of the embedded storage, to mount at `/storage`:
 * `app.route('/storage', embeddedStorageRoutes(storage))`. No CORS here (the app adds it).
 */
export function embeddedStorageRoutes(storage: EmbeddedStorage): Hono {
  const app = new Hono();

  app.onError((err, c) => {
    // A refused PUT usually leaves part of the body unread: ask HTTP/1.1 clients not to reuse the connection,
    // so the next request does not land on a socket the server is about to close.
    const close: Record<string, string> = c.req.method === 'PUT' && isHttp1(c.env) ? { Connection: 'close' } : {};
    if (err instanceof ApiError) return c.json(err.toBody(), err.status, { ...err.headers, ...close });
    console.error('embedded storage:', err);
    return c.json({ error: 'INTERNAL_ERROR', message: 'Internal storage error.' }, 500, close);
  });

  app.put('/*', async (c) => {
    const signed = storage.verify('PUT', rawKeyPath(c), queryOf(c));
    const sent = normaliseContentType(c.req.header('content-type') ?? '');
    if (sent !== signed.contentType) {
      throw new ApiError('UNSUPPORTED_MEDIA_TYPE', `Content-Type must be ${signed.contentType}, as signed in the URL.`);
    }
    const declared = c.req.header('content-length');
    if (declared !== undefined && /^\d+$/.test(declared) && Number(declared) > signed.maxBytes) {
      throw new ApiError('PAYLOAD_TOO_LARGE', `The upload exceeds the signed limit of ${signed.maxBytes} bytes.`, { max_bytes: signed.maxBytes });
    }
    const file = storage.objectPath(signed.key);
    const meta = storage.metaPath(signed.key);
    if (file === null || meta === null) throw new ApiError('FORBIDDEN', 'The storage key is not valid.');

    await mkdir(storage.tmpDir(), { recursive: true });
    const id = randomBytes(12).toString('hex');
    const tmpData = path.join(storage.tmpDir(), `${id}.data`);
    const tmpMeta = path.join(storage.tmpDir(), `${id}.json`);
    const limit = new ByteLimit(signed.maxBytes);
    try {
      const body = c.req.raw.body;
      const source = body ? Readable.fromWeb(body as unknown as NodeReadableStream<Uint8Array>) : Readable.from([]);
      await pipeline(source, limit, createWriteStream(tmpData, { flags: 'wx' }));
      await writeFile(tmpMeta, JSON.stringify({ contentType: signed.contentType, size: limit.bytes }), { flag: 'wx' });
      try {
        await mkdir(path.dirname(file), { recursive: true });
        await mkdir(path.dirname(meta), { recursive: true });
        await rename(tmpMeta, meta);
        await rename(tmpData, file);
      } catch (err) {
        const code = (err as { code?: unknown }).code;
        if (code === 'EEXIST' || code === 'ENOTDIR' || code === 'EISDIR' || code === 'ENOTEMPTY') {
          throw new ApiError('CONFLICT', 'The storage key collides with an existing key.');
        }
        throw err;
      }
    } finally {
      await rm(tmpData, { force: true });
      await rm(tmpMeta, { force: true });
    }
    return c.body(null, 200);
  });

  app.get('/*', async (c) => {
    const signed = storage.verify('GET', rawKeyPath(c), queryOf(c));
    const file = storage.objectPath(signed.key);
    const meta = storage.metaPath(signed.key);
    if (file === null || meta === null) throw new ApiError('FORBIDDEN', 'The storage key is not valid.');

    let handle: FileHandle;
    try {
      handle = await open(file, 'r');
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
      const contentType = (await readContentType(meta)) ?? 'application/octet-stream';
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
