/**
 * Multipart uploads on S3. S3 keeps the parts; the plan (declared size, part size) is kept beside
 * them in a small JSON object under `_multipart/`, since S3 returns no metadata of an unfinished
 * upload. The sweeper lists those objects to find abandoned uploads (docs/storage.md).
 */
import { createHash } from 'node:crypto';
import type { S3Client } from '@aws-sdk/client-s3';
import {
  AbortMultipartUploadCommand, CompleteMultipartUploadCommand, CreateMultipartUploadCommand, DeleteObjectCommand,
  GetObjectCommand, HeadObjectCommand, ListObjectsV2Command, ListPartsCommand, PutObjectCommand, UploadPartCommand,
} from '@aws-sdk/client-s3';
import { getSignedUrl } from '@aws-sdk/s3-request-presigner';
import { assertExpiresIn, assertSafeKey } from './keys.js';
import { assertPartNumbers, partLength } from './multipart.js';
import type { MultipartPlan, MultipartStorage, MultipartUpload, StoredPart } from './types.js';

const PLAN_PREFIX = '_multipart/';

function planKey(uploadId: string): string {
  return `${PLAN_PREFIX}${createHash('sha256').update(uploadId).digest('hex').slice(0, 40)}.json`;
}

function isMissing(err: unknown): boolean {
  const e = err as { name?: unknown; $metadata?: { httpStatusCode?: unknown } } | null;
  return e?.name === 'NoSuchKey' || e?.name === 'NoSuchUpload' || e?.name === 'NotFound' || e?.$metadata?.httpStatusCode === 404;
}

function parseUpload(text: string): MultipartUpload | null {
  const raw = JSON.parse(text) as Partial<Record<keyof MultipartUpload, unknown>>;
  const { key, uploadId, contentType, size, partSize, partCount, createdAt } = raw;
  if (typeof key !== 'string' || typeof uploadId !== 'string' || typeof contentType !== 'string') return null;
  if (typeof size !== 'number' || typeof partSize !== 'number' || typeof partCount !== 'number' || typeof createdAt !== 'string') return null;
  return { key, uploadId, contentType, size, partSize, partCount, createdAt: new Date(createdAt) };
}

export function s3Multipart(client: S3Client, bucket: string): MultipartStorage {
  async function readPlan(uploadId: string): Promise<MultipartUpload | null> {
    try {
      const out = await client.send(new GetObjectCommand({ Bucket: bucket, Key: planKey(uploadId) }));
      return parseUpload((await out.Body?.transformToString('utf8')) ?? '');
    } catch (err) {
      if (isMissing(err)) return null;
      throw err;
    }
  }

  async function dropPlan(uploadId: string): Promise<void> {
    await client.send(new DeleteObjectCommand({ Bucket: bucket, Key: planKey(uploadId) }));
  }

  return {
    async create(key: string, plan: MultipartPlan): Promise<MultipartUpload> {
      assertSafeKey(key);
      const out = await client.send(new CreateMultipartUploadCommand({ Bucket: bucket, Key: key, ContentType: plan.contentType }));
      const uploadId = out.UploadId;
      if (!uploadId) throw new Error('S3 CreateMultipartUpload answered no UploadId');
      const upload: MultipartUpload = { ...plan, key, uploadId, createdAt: new Date() };
      try {
        await client.send(new PutObjectCommand({ Bucket: bucket, Key: planKey(uploadId), Body: JSON.stringify(upload), ContentType: 'application/json' }));
      } catch (err) {
        await client.send(new AbortMultipartUploadCommand({ Bucket: bucket, Key: key, UploadId: uploadId })).catch(() => undefined);
        throw err;
      }
      return upload;
    },

    async get(key: string, uploadId: string): Promise<MultipartUpload | null> {
      if (uploadId === '') return null;
      const upload = await readPlan(uploadId);
      return upload !== null && upload.key === key && upload.uploadId === uploadId ? upload : null;
    },

    async presignParts(upload, partNumbers, expiresIn) {
      assertExpiresIn(expiresIn);
      assertPartNumbers(upload, partNumbers);
      return Promise.all(
        partNumbers.map(async (partNumber) => {
          const command = new UploadPartCommand({ Bucket: bucket, Key: upload.key, UploadId: upload.uploadId, PartNumber: partNumber });
          return { partNumber, url: await getSignedUrl(client, command, { expiresIn }), method: 'PUT' as const, size: partLength(upload, partNumber) };
        }),
      );
    },

    async listParts(upload): Promise<StoredPart[]> {
      const parts: StoredPart[] = [];
      let marker: string | undefined;
      for (;;) {
        const out = await client.send(new ListPartsCommand({ Bucket: bucket, Key: upload.key, UploadId: upload.uploadId, PartNumberMarker: marker }));
        for (const p of out.Parts ?? []) {
          if (p.PartNumber !== undefined && p.ETag !== undefined) parts.push({ partNumber: p.PartNumber, etag: p.ETag, size: p.Size ?? 0 });
        }
        if (!out.IsTruncated || out.NextPartNumberMarker === undefined) return parts;
        marker = out.NextPartNumberMarker;
      }
    },

    async complete(upload, parts) {
      await client.send(
        new CompleteMultipartUploadCommand({
          Bucket: bucket,
          Key: upload.key,
          UploadId: upload.uploadId,
          MultipartUpload: { Parts: parts.map((p) => ({ PartNumber: p.partNumber, ETag: p.etag })) },
        }),
      );
      await dropPlan(upload.uploadId);
      const head = await client.send(new HeadObjectCommand({ Bucket: bucket, Key: upload.key }));
      return { size: head.ContentLength ?? 0, contentType: head.ContentType };
    },

    async abort(upload) {
      try {
        await client.send(new AbortMultipartUploadCommand({ Bucket: bucket, Key: upload.key, UploadId: upload.uploadId }));
      } catch (err) {
        if (!isMissing(err)) throw err;
      }
      await dropPlan(upload.uploadId);
    },

    async list() {
      const found: Array<Pick<MultipartUpload, 'key' | 'uploadId' | 'createdAt'>> = [];
      let token: string | undefined;
      do {
        const out = await client.send(new ListObjectsV2Command({ Bucket: bucket, Prefix: PLAN_PREFIX, ContinuationToken: token }));
        for (const o of out.Contents ?? []) {
          if (!o.Key) continue;
          const got = await client.send(new GetObjectCommand({ Bucket: bucket, Key: o.Key })).catch((err: unknown) => {
            if (isMissing(err)) return null;
            throw err;
          });
          const upload = got ? parseUpload((await got.Body?.transformToString('utf8')) ?? '') : null;
          if (upload) found.push({ key: upload.key, uploadId: upload.uploadId, createdAt: upload.createdAt });
        }
        token = out.IsTruncated ? out.NextContinuationToken : undefined;
      } while (token);
      return found;
    },
  };
}
