import type { AddressInfo } from 'node:net';
import { createServer } from 'node:net';
import aws4 from 'aws4';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createS3Storage, planMultipart } from '../../server/storage/index.js';
import { BUCKET, CREDENTIALS, type Local, REGION, startLocalS3 } from './local-s3.js';
import { describeStorageContract, uniqueKey } from './suite.js';

/** A port nothing listens on (bound, then released). */
async function closedPort(): Promise<number> {
  const srv = createServer();
  await new Promise<void>((resolve) => srv.listen(0, '127.0.0.1', resolve));
  const { port } = srv.address() as AddressInfo;
  await new Promise<void>((resolve) => srv.close(() => resolve()));
  return port;
}

/**
 * Re-signs a presigned URL with aws4 (an independent SigV4 implementation): same host, path, query minus
 * X-Amz-Signature (so same X-Amz-Date and X-Amz-Expires), same credentials and signed headers.
 */
function aws4Signature(presigned: string, method: 'PUT' | 'GET', headers: Record<string, string>): string {
  const url = new URL(presigned);
  url.searchParams.delete('X-Amz-Signature');
  const [, , region, service] = (url.searchParams.get('X-Amz-Credential') ?? '').split('/');
  const signed = aws4.sign(
    { host: url.host, path: `${url.pathname}${url.search}`, method, service, region, signQuery: true, headers: { ...headers } },
    CREDENTIALS,
  );
  return new URL(`http://${url.host}${signed.path ?? ''}`).searchParams.get('X-Amz-Signature') ?? '';
}

function checksumParams(url: string): string[] {
  return [...new URL(url).searchParams.keys()].filter((k) => /^x-amz-(sdk-)?checksum/i.test(k));
}

describeStorageContract('s3 (s3rver)', async () => {
  const local = await startLocalS3();
  const { host, port } = new URL(local.endpoint);
  return {
    storage: local.storage,
    foreignUrls: [
      `${local.endpoint}/other-bucket/videos/a.mp4`,
      `http://127.0.0.1:${Number(port) + 1}/${BUCKET}/videos/a.mp4`,
      `https://${host}/${BUCKET}/videos/a.mp4`,
      `${local.endpoint}/${BUCKET}`,
      `https://${BUCKET}.s3.${REGION}.amazonaws.com/videos/a.mp4`,
      `https://evil.example.com/${BUCKET}/videos/a.mp4`,
    ],
    teardown: () => local.close(),
  };
});

describe('s3 storage driver (signatures, checked independently of s3rver)', () => {
  let local: Local;

  beforeAll(async () => {
    local = await startLocalS3();
  });
  afterAll(async () => {
    await local.close();
  });

  it('signs the presigned PUT exactly as an independent SigV4 implementation (aws4) does', async () => {
    const up = await local.storage.presignUpload(uniqueKey('a b+c é.mp4'), { contentType: 'video/mp4', maxBytes: 1e9, expiresIn: 900 });
    const given = new URL(up.url).searchParams.get('X-Amz-Signature');
    expect(given).toMatch(/^[0-9a-f]{64}$/);
    expect(aws4Signature(up.url, 'PUT', up.headers)).toBe(given);
    expect(new URL(up.url).searchParams.get('X-Amz-Expires')).toBe('900');
  });

  it('signs the presigned GET exactly as aws4 does', async () => {
    const url = await local.storage.presignDownload(uniqueKey('a b+c é.mp4'), { expiresIn: 3600 });
    const given = new URL(url).searchParams.get('X-Amz-Signature');
    expect(given).toMatch(/^[0-9a-f]{64}$/);
    expect(aws4Signature(url, 'GET', {})).toBe(given);
    expect(new URL(url).searchParams.get('X-Amz-Expires')).toBe('3600');
  });

  it('signs the Content-Type of the PUT, so an upload with another Content-Type would not match', async () => {
    const up = await local.storage.presignUpload(uniqueKey(), { contentType: 'video/mp4', maxBytes: 1e9, expiresIn: 900 });
    const signedHeaders = (new URL(up.url).searchParams.get('X-Amz-SignedHeaders') ?? '').split(';');
    expect(signedHeaders).toContain('content-type');
    expect(signedHeaders).toContain('host');
    const given = new URL(up.url).searchParams.get('X-Amz-Signature');
    expect(aws4Signature(up.url, 'PUT', { 'Content-Type': 'text/html' })).not.toBe(given);
  });

  it('bakes no checksum into presigned part URLs, so browsers can PUT parts as they are', async () => {
    const upload = await local.storage.multipart.create(uniqueKey(), planMultipart('video/mp4', 12 * 1024 ** 2, 5 * 1024 ** 2));
    const parts = await local.storage.multipart.presignParts(upload, [1, 2, 3], 600);
    for (const part of parts) {
      expect(checksumParams(part.url)).toEqual([]);
      expect(new URL(part.url).searchParams.get('uploadId')).toBe(upload.uploadId);
    }
    await local.storage.multipart.abort(upload);
  });

  it('a presigned POST carries a content-length-range policy of 1 to maxBytes and the signed content type, and uploads', async () => {
    const key = uniqueKey('form.mp4');
    const post = await local.storage.presignPost(key, { contentType: 'video/mp4', maxBytes: 5000, expiresIn: 600 });
    expect(post.method).toBe('POST');
    const policy = JSON.parse(Buffer.from(post.fields.Policy!, 'base64').toString('utf8')) as { conditions: unknown[] };
    expect(policy.conditions).toEqual(expect.arrayContaining([['content-length-range', 1, 5000], ['eq', '$Content-Type', 'video/mp4'], { key }]));
    expect(Object.keys(post.fields).filter((k) => /checksum/i.test(k))).toEqual([]);
    const form = new FormData();
    for (const [name, value] of Object.entries(post.fields)) form.append(name, value);
    form.append('file', new Blob([new Uint8Array(1234).fill(9)], { type: 'video/mp4' }));
    const res = await fetch(post.url, { method: 'POST', body: form });
    await res.arrayBuffer();
    expect(res.status).toBeLessThan(300);
    expect(await local.storage.head(key)).toMatchObject({ size: 1234 });
  });

  it('bakes no checksum into presigned PUT or GET URLs', async () => {
    const key = uniqueKey();
    const up = await local.storage.presignUpload(key, { contentType: 'video/mp4', maxBytes: 1e9, expiresIn: 900 });
    const down = await local.storage.presignDownload(key, { expiresIn: 900 });
    expect(checksumParams(up.url)).toEqual([]);
    expect(checksumParams(down)).toEqual([]);
    expect(Object.keys(up.headers).map((h) => h.toLowerCase())).toEqual(['content-type']);
    // The browser can upload with nothing but the signed Content-Type.
    const res = await fetch(up.url, { method: 'PUT', headers: up.headers, body: new Uint8Array([1, 2, 3]) });
    expect(res.status).toBe(200);
  });
});

describe('s3 storage driver (reachability)', () => {
  it('ready() rejects when the bucket does not exist', async () => {
    const local = await startLocalS3();
    const other = createS3Storage({ bucket: 'no-such-bucket', region: REGION, endpoint: local.endpoint, forcePathStyle: true, ...CREDENTIALS });
    try {
      await expect(other.ready()).rejects.toThrow();
    } finally {
      await other.close?.();
      await local.close();
    }
  });

  it('ready() rejects when the endpoint is unreachable', async () => {
    const storage = createS3Storage({
      bucket: BUCKET,
      region: REGION,
      endpoint: `http://127.0.0.1:${await closedPort()}`,
      forcePathStyle: true,
      readyTimeoutMs: 3000,
      ...CREDENTIALS,
    });
    try {
      await expect(storage.ready()).rejects.toThrow();
    } finally {
      await storage.close?.();
    }
  });
});

describe('s3 storage driver (keyFromUrl on AWS)', () => {
  const storage = createS3Storage({ bucket: 'my-videos', region: 'eu-west-1', accessKeyId: 'AKIDEXAMPLE', secretAccessKey: 'secret' });

  it('recognises virtual-hosted and path-style URLs of its own bucket, regional and global', () => {
    const key = 'videos/anonymous/20250101_120000_abcd1234_my clip.mp4';
    const encoded = 'videos/anonymous/20250101_120000_abcd1234_my%20clip.mp4';
    for (const url of [
      `https://my-videos.s3.eu-west-1.amazonaws.com/${encoded}?X-Amz-Signature=x`,
      `https://my-videos.s3.amazonaws.com/${encoded}`,
      `https://s3.eu-west-1.amazonaws.com/my-videos/${encoded}`,
      `https://s3.amazonaws.com/my-videos/${encoded}`,
      `https://my-videos.s3.dualstack.eu-west-1.amazonaws.com/${encoded}`,
    ]) {
      expect(storage.keyFromUrl(url), url).toBe(key);
    }
  });

  it('refuses other buckets, other regions, look-alike hosts and odd ports', () => {
    for (const url of [
      'https://other.s3.eu-west-1.amazonaws.com/videos/a.mp4',
      'https://s3.eu-west-1.amazonaws.com/other/videos/a.mp4',
      'https://my-videos.s3.us-east-1.amazonaws.com/videos/a.mp4',
      'https://my-videos.s3.eu-west-1.amazonaws.com.evil.com/videos/a.mp4',
      'https://evil.com/my-videos.s3.eu-west-1.amazonaws.com/videos/a.mp4',
      'https://my-videos.s3.eu-west-1.amazonaws.com:8443/videos/a.mp4',
      'https://s3.eu-west-1.amazonaws.com/my-videos/',
      'ftp://my-videos.s3.eu-west-1.amazonaws.com/videos/a.mp4',
    ]) {
      expect(storage.keyFromUrl(url), url).toBeNull();
    }
  });

  it('presigns against the regional AWS endpoint without any network call', async () => {
    const url = new URL(await storage.presignDownload('videos/a.mp4', { expiresIn: 60 }));
    expect(url.host).toBe('my-videos.s3.eu-west-1.amazonaws.com');
    expect(storage.keyFromUrl(url.toString())).toBe('videos/a.mp4');
  });
});
