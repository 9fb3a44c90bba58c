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
}
