import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import { chmod, mkdir, readdir, readFile, stat, unlink, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { ApiError } from '../errors.js';
import { embeddedMultipart } from './embedded-multipart.js';
import { assertExpiresIn, assertPresignUpload, assertSafeKey, decodeKeyPath, encodeKey, isSafeKey, parseUrlWithoutCredentials } from './keys.js';
import type { ObjectInfo, PresignedUpload, PresignUploadOptions, Storage, StoredObject } from './types.js';

/**
 * Embedded storage: objects live on the local disk and are uploaded and downloaded through the
 * service itself, at `${publicBaseUrl}/storage/<key>`, by the routes of `embeddedStorageRoutes(storage)`
 * (`embedded.routes.ts`). The URL format and the answers are described in docs/storage.md.
 *
 * `sig` = base64url(HMAC-SHA256(secret, "ecg-storage-v1\n<METHOD>\n<key>\n<expires>\n<ct>\n<max>")), with
 * `ct` and `max` empty for downloads.
 *
 * Layout under `dir`: `objects/<key>` (data), `meta/<key>.json` (`{contentType, size}`), `tmp/` (uploads in flight,
 * renamed into place atomically once complete). Directories are private to the service's user (0700), files 0600.
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
}

/** An upload or download URL whose signature checked out. */
export interface VerifiedRequest {
  key: string;
  /** Signed content type (uploads). */
  contentType: string;
  /** Signed byte limit (uploads). */
  maxBytes: number;
}

/**
 * What the storage's HTTP routes need from the driver, and nothing else does: the check of a
 * signed URL and the files of a key. Reached through `embeddedObjects(storage)`, not through `Storage`.
 */
export interface EmbeddedObjects {
  /** Resolves a raw (still percent-encoded) path tail after `/storage/` and its query into a verified request. */
  verify(method: 'PUT' | 'GET', rawKeyPath: string, query: URLSearchParams, now?: number): VerifiedRequest;
  /** The data and metadata files of `key`, or null for an unsafe key. */
  files(key: string): { data: string; meta: string } | null;
  /** Where uploads are written before they are renamed into place. */
  readonly tmpDir: string;
  /** One folder per unfinished multipart upload (embedded-multipart.ts). */
  readonly multipartDir: string;
  /** The query of a part's upload URL: `upload_id`, `part`, `expires`, `max`, `sig`. */
  signPart(key: string, uploadId: string, partNumber: number, expires: number, max: number): URLSearchParams;
  /** Resolves a part upload (a PUT whose query has `upload_id`) into a verified one. */
  verifyPart(rawKeyPath: string, query: URLSearchParams, now?: number): VerifiedPart;
}

export interface VerifiedPart {
  key: string;
  uploadId: string;
  partNumber: number;
  /** The part's planned length: a longer body is refused. */
  maxBytes: number;
}

/** Directories and files the storage creates: only the service's own user may read them. */
export const DIR_MODE = 0o700;
export const FILE_MODE = 0o600;

const SIGNATURE_VERSION = 'ecg-storage-v1';
const objectsOf = new WeakMap<EmbeddedStorage, EmbeddedObjects>();

/** The route-side view of a storage made by `createEmbeddedStorage`. */
export function embeddedObjects(storage: EmbeddedStorage): EmbeddedObjects {
  const objects = objectsOf.get(storage);
  if (!objects) throw new TypeError('embeddedObjects: not a storage made by createEmbeddedStorage');
  return objects;
}

function unixNow(): number {
  return Math.floor(Date.now() / 1000);
}

export function normaliseContentType(value: string): string {
  return value.trim().toLowerCase();
}

export function isMissing(err: unknown): boolean {
  const code = (err as { code?: unknown } | null)?.code;
  return code === 'ENOENT' || code === 'ENOTDIR';
}

export async function readContentType(metaFile: string): Promise<string | undefined> {
  try {
    const meta = JSON.parse(await readFile(metaFile, 'utf8')) as { contentType?: unknown };
    return typeof meta.contentType === 'string' ? meta.contentType : undefined;
  } catch {
    return undefined;
  }
}

/**
 * @example
 * const storage = createEmbeddedStorage({ dir: './.data/storage', publicBaseUrl: 'http://localhost:8000', secret, maxBytes: 2 ** 31 });
 * app.route('/storage', embeddedStorageRoutes(storage));
 */
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
  const tmpDir = path.join(dir, 'tmp');
  const maxBytes = options.maxBytes;

  function sign(method: string, key: string, expires: number, contentType: string, max: string): Buffer {
    const payload = [SIGNATURE_VERSION, method, key, String(expires), contentType, max].join('\n');
    return createHmac('sha256', secret).update(payload, 'utf8').digest();
  }

  function under(root: string, relative: string): string | null {
    const resolved = path.resolve(root, ...relative.split('/'));
    return resolved.startsWith(root + path.sep) ? resolved : null;
  }

  const multipartDir = path.join(dir, 'multipart');
  const signPart = (key: string, uploadId: string, part: string, expires: string, max: string) =>
    sign('PART', key, Number(expires), `${uploadId}/${part}`, max);

  const objects: EmbeddedObjects = {
    tmpDir,
    multipartDir,
    signPart(key, uploadId, partNumber, expires, max) {
      const sig = signPart(key, uploadId, String(partNumber), String(expires), String(max)).toString('base64url');
      return new URLSearchParams({ upload_id: uploadId, part: String(partNumber), expires: String(expires), max: String(max), sig });
    },
    verifyPart(rawKeyPath, query, now = unixNow()) {
      const key = decodeKeyPath(rawKeyPath);
      if (key === null) throw new ApiError('FORBIDDEN', 'The storage key is not valid.');
      const [uploadId, part, expires, max, sig] = ['upload_id', 'part', 'expires', 'max', 'sig'].map((n) => query.get(n) ?? '');
      if (!/^[a-f0-9]{24}$/.test(uploadId!) || !/^\d{1,5}$/.test(part!) || !/^\d{1,12}$/.test(expires!) || !/^\d{1,16}$/.test(max!) || sig === '') {
        throw new ApiError('FORBIDDEN', 'The storage URL is not signed.');
      }
      const expected = signPart(key, uploadId!, part!, expires!, max!);
      const given = Buffer.from(sig!, 'base64url');
      if (given.length !== expected.length || !timingSafeEqual(given, expected)) {
        throw new ApiError('FORBIDDEN', 'The storage URL signature is not valid.');
      }
      if (Number(expires) < now) throw new ApiError('FORBIDDEN', 'The storage URL has expired.');
      return { key, uploadId: uploadId!, partNumber: Number(part), maxBytes: Math.min(Number(max), maxBytes) };
    },
    verify(method, rawKeyPath, query, now = unixNow()) {
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
    files(key) {
      if (!isSafeKey(key)) return null;
      const data = under(objectsDir, key);
      const meta = under(metaDir, `${key}.json`);
      return data === null || meta === null ? null : { data, meta };
    },
  };

  const storage: EmbeddedStorage = {
    kind: 'embedded',
    dir,
    maxBytes,
    multipart: embeddedMultipart(objects, (key, query) => `${baseUrl}/storage/${encodeKey(key)}?${query}`),

    // Signing is synchronous; the promise executors turn a refused key or option into a rejection,
    // as the Storage interface promises (the S3 driver's signer is asynchronous).
    presignUpload(key: string, opts: PresignUploadOptions): Promise<PresignedUpload> {
      return new Promise((resolve) => {
        assertPresignUpload(key, opts);
        const ct = normaliseContentType(opts.contentType);
        const max = String(Math.min(opts.maxBytes, maxBytes));
        const expires = unixNow() + opts.expiresIn;
        const sig = sign('PUT', key, expires, ct, max).toString('base64url');
        const query = new URLSearchParams({ expires: String(expires), ct, max, sig });
        resolve({
          url: `${baseUrl}/storage/${encodeKey(key)}?${query}`,
          method: 'PUT',
          headers: { 'Content-Type': opts.contentType },
          expiresIn: opts.expiresIn,
        });
      });
    },

    presignDownload(key: string, opts: { expiresIn: number }): Promise<string> {
      return new Promise((resolve) => {
        assertSafeKey(key);
        assertExpiresIn(opts.expiresIn);
        const expires = unixNow() + opts.expiresIn;
        const sig = sign('GET', key, expires, '', '').toString('base64url');
        resolve(`${baseUrl}/storage/${encodeKey(key)}?${new URLSearchParams({ expires: String(expires), sig })}`);
      });
    },

    async head(key: string): Promise<ObjectInfo | null> {
      const files = objects.files(key);
      if (files === null) return null;
      let size: number;
      try {
        const st = await stat(files.data);
        if (!st.isFile()) return null;
        size = st.size;
      } catch (err) {
        if (isMissing(err)) return null;
        throw err;
      }
      return { size, contentType: await readContentType(files.meta) };
    },

    keyFromUrl(input: string): string | null {
      const url = parseUrlWithoutCredentials(input);
      if (!url || url.origin !== base.origin) return null;
      const prefix = `${basePath}/storage/`;
      if (!url.pathname.startsWith(prefix)) return null;
      return decodeKeyPath(url.pathname.slice(prefix.length));
    },

    async *list(prefix: string): AsyncIterable<StoredObject> {
      const root = under(objectsDir, prefix.replace(/\/+$/, ''));
      if (root === null) return;
      let entries;
      try {
        entries = await readdir(root, { recursive: true, withFileTypes: true });
      } catch (err) {
        if (isMissing(err)) return;
        throw err;
      }
      for (const e of entries) {
        if (!e.isFile()) continue;
        const file = path.join(e.parentPath, e.name);
        const key = path.relative(objectsDir, file).split(path.sep).join('/');
        const st = await stat(file).catch(() => null);
        if (st && isSafeKey(key)) yield { key, lastModified: st.mtime };
      }
    },

    async delete(key: string): Promise<void> {
      const files = objects.files(key);
      if (files === null) return;
      for (const f of [files.data, files.meta]) {
        try {
          await unlink(f);
        } catch (err) {
          if (!isMissing(err)) throw err;
        }
      }
    },

    async ready(): Promise<void> {
      for (const d of [dir, objectsDir, metaDir, tmpDir, multipartDir]) await mkdir(d, { recursive: true, mode: DIR_MODE });
      await chmod(dir, DIR_MODE); // a store made by an earlier version was 0755
      // Proves the directory is writable, not just present.
      const probe = path.join(tmpDir, `.ready-${randomBytes(6).toString('hex')}`);
      await writeFile(probe, '', { mode: FILE_MODE });
      await unlink(probe);
    },
  };
  objectsOf.set(storage, objects);
  return storage;
}
