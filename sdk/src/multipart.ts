/**
 * Resumable multipart uploads (`@ecg/sdk/multipart`): the file goes to storage in parts, several
 * at a time, each retried on failure; an upload interrupted by a reload or a restart resumes from
 * the parts the storage already holds. `uploadVideo` loads this module by dynamic import for large
 * files. The operations are described in `openapi/v1.1/backend.yaml` (createMultipartUpload, ...).
 * @module
 */
import { call, expectJson } from './call.js';
import { EcgApiError } from './errors.js';
import { abortReason } from './internal.js';
import { defaultResumeStore, fingerprint, type ResumeStore } from './multipart-resume.js';
import type { BackendApi, FetchLike } from './types.js';
import { putToStorage, type UploadProgress } from './upload.js';
import type { Prepared } from './upload-source.js';

export type { ResumeStore, SavedUpload } from './multipart-resume.js';
export { defaultResumeStore, fingerprint, jsonFileStore, localStorageStore } from './multipart-resume.js';

/**
 * Multipart tuning, all optional.
 *
 * @example
 * ```ts
 * import type { MultipartOptions } from '@ecg/sdk/multipart';
 * const options: MultipartOptions = { partSize: 16 * 1024 * 1024, concurrency: 4, retries: 3 };
 * ```
 */
export interface MultipartOptions {
  /** Preferred part size in bytes (the backend keeps it between 5 MiB and 5 GiB). Default 16 MiB. */
  partSize?: number;
  /** Parts sent at once. Default 4. */
  concurrency?: number;
  /** Extra attempts for a failed part. Default 3. */
  retries?: number;
  /** Where unfinished uploads are remembered, or `false` to never resume. Default: `localStorage` or a JSON file in Node. */
  resume?: ResumeStore | false;
  /** Called with the part number of every part sent (for diagnostics and tests). */
  onPart?: (partNumber: number) => void;
}

/** @internal What `uploadVideo` hands over. */
export interface MultipartContext {
  api: BackendApi;
  fetch: FetchLike;
  xhr: boolean;
  filename: string;
  contentType: string | undefined;
  onProgress: ((p: UploadProgress) => void) | undefined;
  signal: AbortSignal | undefined;
}

interface Upload {
  file_key: string;
  upload_id: string;
  part_size: number;
  part_count: number;
  file_size: number;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** @internal Uploads `prepared` in parts and returns its file key (for `requestProcess`); `uploadVideo` calls it. */
export async function uploadMultipart(ctx: MultipartContext, prepared: Prepared, options: MultipartOptions = {}): Promise<string> {
  const { api, signal } = ctx;
  const blob = prepared.body instanceof Blob ? prepared.body : await new Response(prepared.body).blob();
  const store = options.resume === false ? undefined : (options.resume ?? defaultResumeStore());
  const id = fingerprint(ctx.filename, blob.size, prepared.body);
  const ref = (u: Upload) => ({ file_key: u.file_key, upload_id: u.upload_id });
  // One untyped view of the five multipart operations; each answer is read as its schema in openapi/v1.1.
  const postAny = api.POST as unknown as (path: string, init: object) => Promise<{ data?: unknown; error?: unknown; response: Response }>;
  const post = (op: 'create' | 'presign-parts' | 'list-parts' | 'complete' | 'abort', body: object, sig = signal ?? null) =>
    call(postAny(`/api/upload-video/multipart/${op}`, { body, signal: sig, middleware: [expectJson] }));

  let upload: Upload | undefined;
  const done = new Map<number, number>(); // part number -> bytes stored
  const saved = await store?.get(id);
  if (saved) {
    try {
      const listed = (await post('list-parts', { file_key: saved.fileKey, upload_id: saved.uploadId })) as Upload & {
        parts: Array<{ part_number: number; size: number }>;
      };
      upload = listed;
      for (const p of listed.parts) if (p.size === partLength(listed, p.part_number)) done.set(p.part_number, p.size);
    } catch (err) {
      if (!(err instanceof EcgApiError && err.status === 404)) throw err;
      await store?.delete(id); // completed, aborted or swept meanwhile: start over
    }
  }
  if (!upload) {
    upload = (await post('create', {
      filename: ctx.filename,
      ...(ctx.contentType ? { content_type: ctx.contentType } : {}),
      file_size: blob.size,
      ...(options.partSize ? { part_size: options.partSize } : {}),
    })) as Upload;
    await store?.set(id, { fileKey: upload.file_key, uploadId: upload.upload_id });
  }
  const current = upload;

  const inFlight = new Map<number, number>();
  let storedBytes = [...done.values()].reduce((a, b) => a + b, 0);
  const report = () => {
    if (!ctx.onProgress) return;
    let loaded = storedBytes;
    for (const n of inFlight.values()) loaded += n;
    ctx.onProgress({ loaded, total: blob.size, percent: blob.size > 0 ? Math.min(100, Math.floor((loaded / blob.size) * 100)) : 100 });
  };
  report();

  const queue: number[] = [];
  for (let n = 1; n <= current.part_count; n += 1) if (!done.has(n)) queue.push(n);
  const retries = options.retries ?? 3;
  const controller = new AbortController();
  const onAbort = () => controller.abort(signal ? abortReason(signal) : undefined);
  signal?.addEventListener('abort', onAbort, { once: true });

  async function sendPart(n: number): Promise<void> {
    const start = (n - 1) * current.part_size;
    const body = blob.slice(start, start + partLength(current, n));
    for (let attempt = 0; ; attempt += 1) {
      try {
        const presigned = (await post('presign-parts', { ...ref(current), part_numbers: [n] })) as { parts: Array<{ url: string }> };
        options.onPart?.(n);
        await putToStorage({ url: presigned.parts[0]!.url, method: 'PUT', headers: new Headers() }, { body, size: body.size, name: undefined, type: undefined }, {
          fetch: ctx.fetch,
          xhr: ctx.xhr,
          onProgress: (p) => {
            inFlight.set(n, p.loaded);
            report();
          },
          signal: controller.signal,
        });
        inFlight.delete(n);
        storedBytes += body.size;
        report();
        return;
      } catch (err) {
        inFlight.delete(n);
        if (controller.signal.aborted || attempt >= retries) throw err;
        await sleep(Math.min(8000, 500 * 2 ** attempt));
      }
    }
  }

  try {
    const workers = Array.from({ length: Math.max(1, Math.min(options.concurrency ?? 4, queue.length)) }, async () => {
      for (let n = queue.shift(); n !== undefined; n = queue.shift()) await sendPart(n);
    });
    // The first failure stops the other workers; the stored parts stay for a later resume.
    await Promise.all(workers).catch((err: unknown) => {
      controller.abort(err);
      throw err;
    });
    const completed = (await post('complete', ref(current))) as { file_key: string };
    await store?.delete(id);
    return completed.file_key;
  } catch (err) {
    if (signal?.aborted) {
      // Asked to stop: release the parts at the server, and forget the upload.
      await post('abort', ref(current), null).catch(() => {});
      await store?.delete(id);
      throw abortReason(signal);
    }
    throw err;
  } finally {
    signal?.removeEventListener('abort', onAbort);
  }
}

function partLength(u: Upload, n: number): number {
  return n < u.part_count ? u.part_size : u.file_size - u.part_size * (u.part_count - 1);
}
