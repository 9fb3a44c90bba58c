import type { S3ClientConfig } from '@aws-sdk/client-s3';
import { DeleteObjectCommand, GetObjectCommand, HeadBucketCommand, HeadObjectCommand, ListObjectsV2Command, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { createPresignedPost } from '@aws-sdk/s3-presigned-post';
import { getSignedUrl } from '@aws-sdk/s3-request-presigner';
import { assertExpiresIn, assertPresignUpload, assertSafeKey, isSafeKey, parseUrlWithoutCredentials } from './keys.js';
import { s3Multipart } from './s3-multipart.js';
import type { ObjectInfo, PresignedUpload, PresignUploadOptions, Storage, StoredObject } from './types.js';

export interface S3StorageOptions {
  bucket: string;
  region: string;
  /** Custom endpoint (MinIO, R2, s3rver, ...), e.g. `http://127.0.0.1:9000`. Omit for AWS. */
  endpoint?: string;
  /** Path-style URLs (`endpoint/bucket/key`); usually needed with a custom endpoint. */
  forcePathStyle?: boolean;
  /** Both or neither; without them the SDK's default credential chain is used. */
  accessKeyId?: string;
  secretAccessKey?: string;
  /** Timeout of `ready()` in ms (default 5000). */
  readyTimeoutMs?: number;
}

/** A browser form upload: POST multipart/form-data to `url` with `fields` first and the file last (as `file`). */
export interface PresignedPost {
  url: string;
  method: 'POST';
  fields: Record<string, string>;
  expiresIn: number;
}

export interface S3Storage extends Storage {
  readonly kind: 's3';
  /**
   * A presigned POST whose policy makes S3 itself refuse a file over `maxBytes` (or empty) before
   * storing it, which a presigned PUT cannot: `content-length-range` (docs/storage.md).
   */
  presignPost(key: string, opts: PresignUploadOptions): Promise<PresignedPost>;
  readonly bucket: string;
  /** The underlying client, for tests and advanced use. */
  readonly client: S3Client;
}

interface UrlPattern {
  protocols: readonly string[];
  host: string;
  /** Path prefix before the key, ending with `/`. */
  prefix: string;
}

function trimSlashes(path: string): string {
  return path.replace(/^\/+|\/+$/g, '');
}

/** The URL shapes that address `bucket`: virtual-hosted and path-style, on AWS or on the custom endpoint. */
function urlPatterns(bucket: string, region: string, endpoint: string | undefined): UrlPattern[] {
  const web = ['http:', 'https:'];
  if (endpoint !== undefined) {
    const e = new URL(endpoint);
    const base = trimSlashes(e.pathname);
    const root = base === '' ? '/' : `/${base}/`;
    return [
      { protocols: [e.protocol], host: e.host, prefix: `${root}${bucket}/` },
      { protocols: [e.protocol], host: `${bucket}.${e.host}`, prefix: root },
    ];
  }
  const hosts = [`s3.${region}.amazonaws.com`, `s3-${region}.amazonaws.com`, `s3.dualstack.${region}.amazonaws.com`, 's3.amazonaws.com'];
  return hosts.flatMap((host) => [
    { protocols: web, host, prefix: `/${bucket}/` },
    { protocols: web, host: `${bucket}.${host}`, prefix: '/' },
  ]);
}

function isNotFound(err: unknown): boolean {
  if (typeof err !== 'object' || err === null) return false;
  const e = err as { name?: unknown; $metadata?: { httpStatusCode?: unknown } };
  return e.name === 'NotFound' || e.name === 'NoSuchKey' || e.$metadata?.httpStatusCode === 404;
}

export function createS3Storage(options: S3StorageOptions): S3Storage {
  const { bucket, region, endpoint, forcePathStyle, accessKeyId, secretAccessKey } = options;
  if (!bucket) throw new TypeError('createS3Storage: bucket is required');
  if (!region) throw new TypeError('createS3Storage: region is required');
  if ((accessKeyId === undefined) !== (secretAccessKey === undefined)) {
    throw new TypeError('createS3Storage: give both accessKeyId and secretAccessKey, or neither');
  }
  const readyTimeoutMs = options.readyTimeoutMs ?? 5000;

  const config: S3ClientConfig = {
    region,
    // No checksum baked into presigned PUTs: the browser would have to send a matching x-amz-checksum-* value.
    requestChecksumCalculation: 'WHEN_REQUIRED',
    responseChecksumValidation: 'WHEN_REQUIRED',
    requestHandler: { connectionTimeout: 5000, requestTimeout: 30_000 },
  };
  if (endpoint !== undefined) config.endpoint = endpoint;
  if (forcePathStyle !== undefined) config.forcePathStyle = forcePathStyle;
  if (accessKeyId !== undefined && secretAccessKey !== undefined) config.credentials = { accessKeyId, secretAccessKey };
  const client = new S3Client(config);
  const patterns = urlPatterns(bucket, region, endpoint);

  return {
    kind: 's3',
    bucket,
    client,
    multipart: s3Multipart(client, bucket),

    async presignUpload(key: string, opts: PresignUploadOptions): Promise<PresignedUpload> {
      assertPresignUpload(key, opts);
      // ContentType on the command plus `signableHeaders` make content-type a signed header (the presigner
      // leaves it unsigned by default): the uploader must send the same value or S3 answers 403.
      const command = new PutObjectCommand({ Bucket: bucket, Key: key, ContentType: opts.contentType });
      const url = await getSignedUrl(client, command, { expiresIn: opts.expiresIn, signableHeaders: new Set(['content-type']) });
      return { url, method: 'PUT', headers: { 'Content-Type': opts.contentType }, expiresIn: opts.expiresIn };
    },

    async presignPost(key: string, opts: PresignUploadOptions): Promise<PresignedPost> {
      assertPresignUpload(key, opts);
      const { url, fields } = await createPresignedPost(client, {
        Bucket: bucket,
        Key: key,
        Fields: { 'Content-Type': opts.contentType },
        Conditions: [['content-length-range', 1, opts.maxBytes], ['eq', '$Content-Type', opts.contentType]],
        Expires: opts.expiresIn,
      });
      return { url, method: 'POST', fields, expiresIn: opts.expiresIn };
    },

    async presignDownload(key: string, opts: { expiresIn: number }): Promise<string> {
      assertSafeKey(key);
      assertExpiresIn(opts.expiresIn);
      return getSignedUrl(client, new GetObjectCommand({ Bucket: bucket, Key: key }), { expiresIn: opts.expiresIn });
    },

    async head(key: string): Promise<ObjectInfo | null> {
      if (!isSafeKey(key)) return null;
      try {
        const out = await client.send(new HeadObjectCommand({ Bucket: bucket, Key: key }));
        return { size: out.ContentLength ?? 0, contentType: out.ContentType };
      } catch (err) {
        if (isNotFound(err)) return null;
        throw err;
      }
    },

    keyFromUrl(input: string): string | null {
      const url = parseUrlWithoutCredentials(input);
      if (!url) return null;
      for (const p of patterns) {
        if (!p.protocols.includes(url.protocol) || url.host !== p.host || !url.pathname.startsWith(p.prefix)) continue;
        let key: string;
        try {
          key = decodeURIComponent(url.pathname.slice(p.prefix.length));
        } catch {
          return null;
        }
        return isSafeKey(key) ? key : null;
      }
      return null;
    },

    async *list(prefix: string): AsyncIterable<StoredObject> {
      let token: string | undefined;
      do {
        const page = await client.send(new ListObjectsV2Command({ Bucket: bucket, Prefix: prefix, ContinuationToken: token }));
        for (const o of page.Contents ?? []) if (o.Key !== undefined) yield { key: o.Key, lastModified: o.LastModified ?? new Date(0) };
        token = page.IsTruncated ? page.NextContinuationToken : undefined;
      } while (token !== undefined);
    },

    async delete(key: string): Promise<void> {
      assertSafeKey(key);
      await client.send(new DeleteObjectCommand({ Bucket: bucket, Key: key }));
    },

    async ready(): Promise<void> {
      await client.send(new HeadBucketCommand({ Bucket: bucket }), { abortSignal: AbortSignal.timeout(readyTimeoutMs) });
    },

    close(): Promise<void> {
      client.destroy();
      return Promise.resolve();
    },
  };
}
