/**
 * Upload keys and who may use them (docs/storage.md): every upload lands under its owner's folder,
 * and with authentication on a user may process only keys under their own folder.
 */
import { createHash, randomBytes } from 'node:crypto';
import { ApiError } from '../errors.js';
import { isSafeKey } from '../storage/keys.js';
import { contentTypeFor, isMediaType } from '../storage/media.js';
import { planMultipart } from '../storage/multipart.js';
import type { MultipartPlan, MultipartUpload, Storage } from '../storage/types.js';

/** `my video (1).MP4` -> `my_video_1_.MP4`; no path, no `..`, at most 120 characters. */
export function sanitizeFilename(name: string): string {
  const base = name.split(/[\\/]/).at(-1) ?? '';
  const cleaned = base
    .normalize('NFKC')
    .replace(/[^A-Za-z0-9._-]+/g, '_')
    .replace(/\.{2,}/g, '.')
    .replace(/^[._]+/, '')
    .slice(-120);
  return cleaned === '' ? 'video' : cleaned;
}

const PLAIN = /^[A-Za-z0-9-]{1,64}$/;
const hashed = (s: string) => `u_${createHash('sha256').update(s).digest('hex').slice(0, 32)}`;

/**
 * The folder of an owner's uploads. It must not be shared by two owners, so an owner that is not
 * already a plain short name is replaced by a hash of it instead of being "cleaned" (which would make
 * `a.b` and `a_b` the same). A JWT subject keeps the folder it had before owners were namespaced
 * (`jwt:alice` uploads to `videos/alice/`), except a subject spelled like an API token's owner,
 * which is hashed with its namespace so it can never land in that token's folder (docs/auth.md).
 */
export function ownerSegment(owner: string | null): string {
  if (owner === null) return 'anonymous';
  if (owner.startsWith('jwt:')) {
    const sub = owner.slice(4);
    if (sub.startsWith('token:')) return hashed(owner);
    return PLAIN.test(sub) && sub !== 'anonymous' ? sub : hashed(sub);
  }
  return PLAIN.test(owner) && owner !== 'anonymous' ? owner : hashed(owner);
}

/** True when `key` lies in `owner`'s upload folder. */
export const isOwnersKey = (owner: string | null, key: string) => key.startsWith(`videos/${ownerSegment(owner)}/`);

/**
 * `videos/{owner or "anonymous"}/{YYYYmmdd_HHMMSS UTC}_{8 hex}_{sanitised filename}`
 *
 * @example
 * uploadKey('alice', 'talk.mp4', new Date('2025-01-02T03:04:05Z')) // 'videos/alice/20250102_030405_1a2b3c4d_talk.mp4'
 */
export function uploadKey(owner: string | null, filename: string, now = new Date()): string {
  const stamp = now.toISOString().replace(/[-:]/g, '').replace('T', '_').slice(0, 15);
  return `videos/${ownerSegment(owner)}/${stamp}_${randomBytes(4).toString('hex')}_${sanitizeFilename(filename)}`;
}

export interface UploadRequest {
  filename: string;
  /** The content type the client declared, if any (empty means none). */
  contentType: string | undefined;
  size: number | undefined;
}

/**
 * Where an upload goes and with which content type: video and audio only, and no file declared
 * larger than `maxBytes` (docs/limits.md). Without a declared type, the extension decides.
 */
export function planUpload(owner: string | null, request: UploadRequest, maxBytes: number): { key: string; contentType: string } {
  const declared = request.contentType?.trim() ? request.contentType.trim().toLowerCase() : undefined;
  const contentType = declared ?? contentTypeFor(request.filename);
  if (!contentType || !isMediaType(contentType)) {
    throw new ApiError('UNSUPPORTED_MEDIA_TYPE', 'Only video and audio files can be uploaded.', { content_type: contentType ?? null });
  }
  if (request.size !== undefined && request.size > maxBytes) throw new ApiError('PAYLOAD_TOO_LARGE', `The file is larger than ${maxBytes} bytes.`);
  return { key: uploadKey(owner, request.filename), contentType };
}

/** A multipart upload's key, content type and parts: the same checks as `planUpload`, with the size required. */
export function planMultipartUpload(
  owner: string | null,
  request: UploadRequest & { size: number },
  maxBytes: number,
  partSize?: number,
): { key: string; plan: MultipartPlan } {
  const { key, contentType } = planUpload(owner, request, maxBytes);
  return { key, plan: planMultipart(contentType, request.size, partSize) };
}

/**
 * The unfinished multipart upload `uploadId` of `key`, when the caller may use it: with authentication
 * on, only keys in the caller's folder. Anything else is `FILE_NOT_FOUND`, as for `requestProcess`.
 */
export async function findMultipartUpload(storage: Storage, ownerRuleOn: boolean, owner: string | null, key: string, uploadId: string): Promise<MultipartUpload> {
  const upload = isSafeKey(key) && (!ownerRuleOn || isOwnersKey(owner, key)) ? await storage.multipart.get(key, uploadId) : null;
  if (!upload) throw new ApiError('FILE_NOT_FOUND', 'No unfinished upload with this key and id.');
  return upload;
}
