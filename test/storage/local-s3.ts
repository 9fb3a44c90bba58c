/** s3rver on an ephemeral port, with the bucket and the multipart operations it lacks, for the S3 driver's tests. */
// eslint-disable-next-line @typescript-eslint/triple-slash-reference -- s3rver ships no types, and test/sdk/tsconfig.json does not include this folder
/// <reference path="./s3rver.d.ts" />
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import S3rver from 's3rver';
import type { S3Storage } from '../../server/storage/index.js';
import { createS3Storage } from '../../server/storage/index.js';
import { s3rverMultipartExtras } from './s3rver-multipart.js';

export const BUCKET = 'ecg-test';
export const REGION = 'us-east-1';
// s3rver's built-in account.
export const CREDENTIALS = { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' };

export interface Local {
  storage: S3Storage;
  endpoint: string;
  close(): Promise<void>;
}

/**
 * The bucket CORS rule docs/deploy.md asks for: browsers of `origin` may PUT, POST and GET, and read
 * the `ETag` of what they stored.
 */
const corsRule = (origin: string) => `<CORSConfiguration><CORSRule><AllowedOrigin>${origin}</AllowedOrigin>
<AllowedMethod>PUT</AllowedMethod><AllowedMethod>POST</AllowedMethod><AllowedMethod>GET</AllowedMethod>
<AllowedHeader>*</AllowedHeader><ExposeHeader>ETag</ExposeHeader><MaxAgeSeconds>600</MaxAgeSeconds></CORSRule></CORSConfiguration>`;

/** s3rver on an ephemeral 127.0.0.1 port, in a temp dir, with the bucket created (and a CORS rule for `corsOrigin`). */
export async function startLocalS3(corsOrigin?: string): Promise<Local> {
  const directory = await mkdtemp(path.join(tmpdir(), 'ecg-s3rver-'));
  const bucket = { name: BUCKET, ...(corsOrigin ? { configs: [corsRule(corsOrigin)] } : {}) };
  const server = new S3rver({ address: '127.0.0.1', port: 0, directory, silent: true, configureBuckets: [bucket] });
  (server as unknown as { middleware: unknown[] }).middleware.unshift(s3rverMultipartExtras(directory));
  const { port } = await server.run();
  const endpoint = `http://127.0.0.1:${port}`;
  const storage = createS3Storage({ bucket: BUCKET, region: REGION, endpoint, forcePathStyle: true, ...CREDENTIALS });
  return {
    storage,
    endpoint,
    async close() {
      await storage.close?.();
      await server.close();
      await rm(directory, { recursive: true, force: true });
    },
  };
}
