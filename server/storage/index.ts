export type { EmbeddedStorage, EmbeddedStorageOptions } from './embedded.js';
export { createEmbeddedStorage } from './embedded.js';
export type { EmbeddedStorageRoutesOptions } from './embedded.routes.js';
export { embeddedStorageRoutes } from './embedded.routes.js';
export { isSafeKey } from './keys.js';
export type { S3Storage, S3StorageOptions } from './s3.js';
export { createS3Storage } from './s3.js';
export type { ObjectInfo, PresignedUpload, PresignUploadOptions, Storage } from './types.js';
