/** What the frontend needs to upload one object: PUT `url` with `headers` (Content-Type is signed). */
export interface PresignedUpload {
  url: string;
  method: 'PUT';
  headers: Record<string, string>;
  /** Seconds the URL stays valid. */
  expiresIn: number;
}

export interface ObjectInfo {
  size: number;
  contentType: string | undefined;
}

export interface StoredObject {
  key: string;
  lastModified: Date;
}

export interface PresignUploadOptions {
  /** Non-empty; the uploader must send exactly this Content-Type. */
  contentType: string;
  /** Upper bound in bytes. Enforced by the embedded driver; S3 presigned PUTs cannot enforce it, check `head()` afterwards. */
  maxBytes: number;
  /** Seconds, positive integer (S3 caps it at 604800). */
  expiresIn: number;
}

export interface Storage {
  readonly kind: 's3' | 'embedded';
  presignUpload(key: string, opts: PresignUploadOptions): Promise<PresignedUpload>;
  presignDownload(key: string, opts: { expiresIn: number }): Promise<string>;
  /** `null` when the object does not exist. */
  head(key: string): Promise<ObjectInfo | null>;
  /**
   * The key when `url` points into this storage, else `null`.
   * Used against SSRF: request-process only accepts own-storage URLs (and then presigns its own GET).
   */
  keyFromUrl(url: string): string | null;
  /** Every object under `prefix` (a folder, ending in `/`), with when it was last written; for the upload sweeper. */
  list(prefix: string): AsyncIterable<StoredObject>;
  /** Deletes an object; deleting one that does not exist is not an error. */
  delete(key: string): Promise<void>;
  /** Throws when the storage is not reachable (used by /health). */
  ready(): Promise<void>;
  close?(): Promise<void>;
  readonly multipart: MultipartStorage;
}

/** What a multipart upload was declared with; the driver keeps it for the upload's lifetime (docs/storage.md). */
export interface MultipartPlan {
  contentType: string;
  /** The file's size in bytes, declared up front; complete refuses any other total. */
  size: number;
  /** Every part but the last is exactly this long; the last is the remainder. */
  partSize: number;
  partCount: number;
}

export interface MultipartUpload extends MultipartPlan {
  key: string;
  uploadId: string;
  /** When the upload was started (the sweeper aborts old ones). */
  createdAt: Date;
}

export interface StoredPart {
  partNumber: number;
  etag: string;
  size: number;
}

export interface PresignedPart {
  partNumber: number;
  url: string;
  method: 'PUT';
  /** The exact byte length this part must have. */
  size: number;
}

/** Multipart uploads, the same on both drivers. Every method but `create` and `list` starts from `get`. */
export interface MultipartStorage {
  create(key: string, plan: MultipartPlan): Promise<MultipartUpload>;
  /** `null` when no unfinished upload has this id for this key. */
  get(key: string, uploadId: string): Promise<MultipartUpload | null>;
  presignParts(upload: MultipartUpload, partNumbers: readonly number[], expiresIn: number): Promise<PresignedPart[]>;
  listParts(upload: MultipartUpload): Promise<StoredPart[]>;
  /** Assembles the parts into the object; the caller has checked them (`checkCompletion`). */
  complete(upload: MultipartUpload, parts: readonly StoredPart[]): Promise<ObjectInfo>;
  abort(upload: MultipartUpload): Promise<void>;
  /** Every unfinished upload, for the sweeper. */
  list(): Promise<Array<Pick<MultipartUpload, 'key' | 'uploadId' | 'createdAt'>>>;
}
