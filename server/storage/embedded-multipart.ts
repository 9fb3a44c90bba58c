/**
 * Multipart uploads on the embedded storage (docs/storage.md). Each unfinished upload is a folder
 * `multipart/<upload id>/` holding `upload.json` (the plan), and per stored part `part-<n>` (data) and
 * `part-<n>.json` (`{etag, size}`). Parts are PUT to signed URLs (embedded-multipart.routes.ts);
 * complete streams them, in order, into one object and removes the folder.
 */
import { randomBytes } from 'node:crypto';
import { createReadStream, createWriteStream } from 'node:fs';
import { mkdir, readdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { ApiError } from '../errors.js';
import type { EmbeddedObjects } from './embedded.js';
import { DIR_MODE, FILE_MODE, isMissing } from './embedded.js';
import { assertExpiresIn, assertSafeKey } from './keys.js';
import { assertPartNumbers, partLength } from './multipart.js';
import type { MultipartPlan, MultipartStorage, MultipartUpload, StoredPart } from './types.js';

const UPLOAD_ID = /^[a-f0-9]{24}$/;

/** The folder of an upload id, or null for an id this driver never makes. */
export function uploadDir(objects: EmbeddedObjects, uploadId: string): string | null {
  return UPLOAD_ID.test(uploadId) ? path.join(objects.multipartDir, uploadId) : null;
}

export const partFile = (dir: string, partNumber: number) => path.join(dir, `part-${partNumber}`);

async function readJson(file: string): Promise<unknown> {
  try {
    return JSON.parse(await readFile(file, 'utf8')) as unknown;
  } catch (err) {
    if (isMissing(err) || err instanceof SyntaxError) return null;
    throw err;
  }
}

export async function readUpload(objects: EmbeddedObjects, uploadId: string): Promise<MultipartUpload | null> {
  const dir = uploadDir(objects, uploadId);
  if (dir === null) return null;
  const raw = (await readJson(path.join(dir, 'upload.json'))) as (Omit<MultipartUpload, 'createdAt'> & { createdAt: string }) | null;
  return raw === null ? null : { ...raw, createdAt: new Date(raw.createdAt) };
}

/**
 * Moves a finished upload (`tmpData`, `tmpMeta`) to `key`'s files. `CONFLICT` when the key collides with
 * the "directory" of another key.
 */
export async function placeObject(objects: EmbeddedObjects, key: string, tmpData: string, tmpMeta: string): Promise<void> {
  const files = objects.files(key);
  if (files === null) throw new ApiError('FORBIDDEN', 'The storage key is not valid.');
  try {
    await mkdir(path.dirname(files.data), { recursive: true, mode: DIR_MODE });
    await mkdir(path.dirname(files.meta), { recursive: true, mode: DIR_MODE });
    await rename(tmpMeta, files.meta);
    await rename(tmpData, files.data);
  } catch (err) {
    const code = (err as { code?: unknown }).code;
    if (code === 'EEXIST' || code === 'ENOTDIR' || code === 'EISDIR' || code === 'ENOTEMPTY') {
      throw new ApiError('CONFLICT', 'The storage key collides with an existing key.');
    }
    throw err;
  }
}

export function embeddedMultipart(objects: EmbeddedObjects, urlOf: (key: string, query: URLSearchParams) => string): MultipartStorage {
  const unixNow = () => Math.floor(Date.now() / 1000);

  return {
    async create(key: string, plan: MultipartPlan): Promise<MultipartUpload> {
      assertSafeKey(key);
      const uploadId = randomBytes(12).toString('hex');
      const dir = path.join(objects.multipartDir, uploadId);
      await mkdir(objects.multipartDir, { recursive: true, mode: DIR_MODE });
      await mkdir(dir, { mode: DIR_MODE });
      const upload: MultipartUpload = { ...plan, key, uploadId, createdAt: new Date() };
      await writeFile(path.join(dir, 'upload.json'), JSON.stringify(upload), { flag: 'wx', mode: FILE_MODE });
      return upload;
    },

    async get(key: string, uploadId: string): Promise<MultipartUpload | null> {
      const upload = await readUpload(objects, uploadId);
      return upload !== null && upload.key === key ? upload : null;
    },

    // Async so that a refused argument rejects like every other storage call instead of throwing.
    // eslint-disable-next-line @typescript-eslint/require-await
    async presignParts(upload, partNumbers, expiresIn) {
      assertExpiresIn(expiresIn);
      assertPartNumbers(upload, partNumbers);
      const expires = unixNow() + expiresIn;
      return partNumbers.map((partNumber) => {
        const size = partLength(upload, partNumber);
        return { partNumber, url: urlOf(upload.key, objects.signPart(upload.key, upload.uploadId, partNumber, expires, size)), method: 'PUT' as const, size };
      });
    },

    async listParts(upload): Promise<StoredPart[]> {
      const dir = uploadDir(objects, upload.uploadId);
      if (dir === null) return [];
      let names: string[];
      try {
        names = await readdir(dir);
      } catch (err) {
        if (isMissing(err)) return [];
        throw err;
      }
      const parts: StoredPart[] = [];
      for (const name of names) {
        const n = /^part-(\d+)\.json$/.exec(name)?.[1];
        if (n === undefined) continue;
        const info = (await readJson(path.join(dir, name))) as { etag?: unknown; size?: unknown } | null;
        if (typeof info?.etag === 'string' && typeof info.size === 'number') parts.push({ partNumber: Number(n), etag: info.etag, size: info.size });
      }
      return parts.sort((a, b) => a.partNumber - b.partNumber);
    },

    async complete(upload, parts) {
      const dir = uploadDir(objects, upload.uploadId);
      if (dir === null) throw new ApiError('FILE_NOT_FOUND', 'No unfinished upload with this id.');
      await mkdir(objects.tmpDir, { recursive: true, mode: DIR_MODE });
      const id = randomBytes(12).toString('hex');
      const tmpData = path.join(objects.tmpDir, `${id}.data`);
      const tmpMeta = path.join(objects.tmpDir, `${id}.json`);
      try {
        // One part at a time, so memory stays flat whatever the file's size.
        const files = parts.map((p) => partFile(dir, p.partNumber));
        const joined = Readable.from(
          (async function* () {
            for (const file of files) yield* createReadStream(file);
          })(),
        );
        await pipeline(joined, createWriteStream(tmpData, { flags: 'wx', mode: FILE_MODE }));
        const size = parts.reduce((sum, p) => sum + p.size, 0);
        await writeFile(tmpMeta, JSON.stringify({ contentType: upload.contentType, size }), { flag: 'wx', mode: FILE_MODE });
        await placeObject(objects, upload.key, tmpData, tmpMeta);
        await rm(dir, { recursive: true, force: true });
        return { size, contentType: upload.contentType };
      } finally {
        await rm(tmpData, { force: true });
        await rm(tmpMeta, { force: true });
      }
    },

    async abort(upload) {
      const dir = uploadDir(objects, upload.uploadId);
      if (dir !== null) await rm(dir, { recursive: true, force: true });
    },

    async list() {
      let ids: string[];
      try {
        ids = await readdir(objects.multipartDir);
      } catch (err) {
        if (isMissing(err)) return [];
        throw err;
      }
      const found: Array<Pick<MultipartUpload, 'key' | 'uploadId' | 'createdAt'>> = [];
      for (const id of ids) {
        const upload = await readUpload(objects, id);
        if (upload) found.push({ key: upload.key, uploadId: upload.uploadId, createdAt: upload.createdAt });
      }
      return found;
    },
  };
}
