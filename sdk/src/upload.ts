/**
 * The storage half of an upload: the PUT, or the form POST whose policy caps the size, to the
 * signed URL that `generate-url` answered (see `docs/storage.md`), with progress
 * (XMLHttpRequest in browsers, a counted stream elsewhere).
 * @module
 */
import { EcgApiError, redactUrl } from './errors.js';
import { abortReason, isAbortLike } from './internal.js';
import { networkError } from './transport.js';
import type { FetchLike, GenerateUploadUrlResponse } from './types.js';
import { nodeVersion, type Prepared } from './upload-source.js';

/**
 * Upload progress: bytes sent so far, of `total`, and the rounded percentage.
 *
 * @example
 * ```ts
 * import type { UploadProgress } from '@ecg/sdk';
 * const onProgress = (p: UploadProgress) => console.log(`${p.percent}% (${p.loaded}/${p.total})`);
 * ```
 */
export interface UploadProgress {
  loaded: number;
  total: number;
  percent: number;
}

/**
 * Options of {@link BackendClient.uploadVideo}.
 *
 * @example
 * ```ts
 * import type { UploadOptions } from '@ecg/sdk';
 * const options: UploadOptions = { filename: 'talk.mp4', contentType: 'video/mp4', onProgress: (p) => console.log(p.percent) };
 * ```
 */
export interface UploadOptions {
  /** The file name sent to the backend; defaults to the `File`'s name or the path's last segment. Required for other inputs. */
  filename?: string;
  /** The MIME type (`video/*` or `audio/*`); defaults to the `Blob`'s type, else the backend infers it from the extension. */
  contentType?: string;
  /** The size in bytes of a stream input; without it, a stream is read into memory first (storage needs a length). */
  size?: number;
  /** Called as bytes go out, and once at the end with 100 %. */
  onProgress?: (progress: UploadProgress) => void;
  /** Aborts the upload (a multipart upload is also released at the server). */
  signal?: AbortSignal;
  /**
   * Send the file in resumable parts (`@ecg/sdk/multipart`): `true`, or its options. By default,
   * files larger than `multipartThreshold` go in parts and smaller ones in one PUT; `false` never.
   */
  multipart?: boolean | import('./multipart.js').MultipartOptions;
  /** Size in bytes above which uploads go in parts. Default 64 MiB. */
  multipartThreshold?: number;
  /**
   * How a single-request upload asks to send the file. `'post'` (the default) asks for a form upload
   * whose policy makes S3 refuse an empty or oversized file before storing it; storage that checks
   * sizes itself (the embedded one) answers with a `PUT` anyway. `'put'` always asks for a `PUT`.
   */
  uploadMethod?: 'put' | 'post';
}

type Report = (loaded: number, force?: boolean) => void;

/** Calls `onProgress` at most every 50 ms, and always for the first and last byte. */
function progressReporter(total: number, onProgress: ((p: UploadProgress) => void) | undefined): Report {
  let last = -1;
  let lastAt = 0;
  return (loaded: number, force = false) => {
    if (!onProgress) return;
    const now = Date.now();
    if (loaded === last || (!force && now - lastAt < 50 && loaded < total)) return;
    last = loaded;
    lastAt = now;
    onProgress({ loaded, total, percent: total > 0 ? Math.min(100, Math.floor((loaded / total) * 100)) : 100 });
  };
}

/** A form upload answers 204 unless its policy asks otherwise; a PUT answers 200. */
const succeeded = (target: UploadTarget, status: number) => (target.fields ? status >= 200 && status < 300 : status === 200);

function uploadError({ url, method }: UploadTarget, status: number): EcgApiError {
  const where = redactUrl(url);
  return new EcgApiError({ status, code: 'UPLOAD_FAILED', message: `The upload failed: storage answered HTTP ${status} to ${method} ${where}.`, method, url: where });
}

/** Browsers: XMLHttpRequest, for real upload progress. */
function putWithXhr(target: UploadTarget, blob: Blob, filename: string, report: Report, signal?: AbortSignal) {
  const { url, method, headers, fields } = target;
  let body: Blob | FormData = blob;
  if (fields) {
    // The browser writes the multipart envelope; the file goes last, as S3 requires.
    body = new FormData();
    for (const [key, value] of Object.entries(fields)) body.append(key, value);
    body.append('file', blob, filename);
  }
  return new Promise<void>((resolve, reject) => {
    if (signal?.aborted) return reject(abortReason(signal));
    const xhr = new XMLHttpRequest();
    const onAbort = () => xhr.abort();
    xhr.open(method, url);
    if (!fields) headers.forEach((value, key) => xhr.setRequestHeader(key, value));
    xhr.upload.onprogress = (e) => report(e.loaded, true); // browsers already pace these events
    xhr.onload = () => {
      signal?.removeEventListener('abort', onAbort);
      if (succeeded(target, xhr.status)) resolve();
      else reject(uploadError(target, xhr.status));
    };
    xhr.onerror = () => {
      signal?.removeEventListener('abort', onAbort);
      // XMLHttpRequest says nothing more: a refused connection and a CORS refusal look the same.
      const where = redactUrl(url);
      reject(new EcgApiError({ status: 0, code: 'NETWORK_ERROR', message: `The upload failed: ${method} ${where} got no answer (network error or CORS).`, method, url: where }));
    };
    xhr.onabort = () => reject(signal ? abortReason(signal) : new DOMException('The upload was aborted', 'AbortError'));
    signal?.addEventListener('abort', onAbort, { once: true });
    xhr.send(body);
  });
}

/** The bytes of `prepared`, counted into `report` as they are read. */
function counted(prepared: Prepared, report: Report | undefined): ReadableStream<Uint8Array> {
  const stream: ReadableStream<Uint8Array> = prepared.body instanceof Blob ? prepared.body.stream() : prepared.body;
  if (!report) return stream;
  let sent = 0;
  return stream.pipeThrough(
    new TransformStream<Uint8Array, Uint8Array>({
      transform(chunk, controller) {
        sent += chunk.byteLength;
        report(sent);
        controller.enqueue(chunk);
      },
    }),
  );
}

/**
 * A `multipart/form-data` body of known length around a file of known size: the policy fields,
 * then the file. Written out here rather than with `FormData`, which cannot hold a stream and
 * gives no upload progress in Node.
 */
function formBody(fields: Record<string, string>, filename: string, contentType: string, file: ReadableStream<Uint8Array>, size: number) {
  const boundary = `----ecg${Math.random().toString(16).slice(2)}${Date.now().toString(16)}`;
  const quoted = (v: string) => v.replace(/["\r\n\\]/g, '_');
  let head = '';
  for (const [key, value] of Object.entries(fields)) {
    head += `--${boundary}\r\nContent-Disposition: form-data; name="${quoted(key)}"\r\n\r\n${value}\r\n`;
  }
  head += `--${boundary}\r\nContent-Disposition: form-data; name="file"; filename="${quoted(filename)}"\r\nContent-Type: ${contentType}\r\n\r\n`;
  const encoder = new TextEncoder();
  const prefix = encoder.encode(head);
  const suffix = encoder.encode(`\r\n--${boundary}--\r\n`);
  const reader = file.getReader();
  let stage = 0;
  const body = new ReadableStream<Uint8Array>({
    async pull(controller) {
      if (stage === 0) {
        stage = 1;
        controller.enqueue(prefix);
        return;
      }
      if (stage === 1) {
        const { done, value } = await reader.read();
        if (!done) return controller.enqueue(value);
        stage = 2;
        controller.enqueue(suffix);
        return;
      }
      controller.close();
    },
    cancel: (reason) => reader.cancel(reason),
  });
  return { body, length: prefix.byteLength + size + suffix.byteLength, contentType: `multipart/form-data; boundary=${boundary}` };
}

async function putWithFetch(fetchImpl: FetchLike, target: UploadTarget, prepared: Prepared, filename: string, report: Report | undefined, signal?: AbortSignal) {
  const { url, method, fields } = target;
  const headers = new Headers(target.headers);
  let body: BodyInit;
  const init: RequestInit & { duplex?: 'half' } = { method, headers, signal: signal ?? null };
  if (fields) {
    const form = formBody(fields, filename, headers.get('Content-Type') ?? 'application/octet-stream', counted(prepared, report), prepared.size);
    body = form.body as ReadableStream<Uint8Array<ArrayBuffer>>;
    headers.set('Content-Type', form.contentType);
    headers.set('Content-Length', String(form.length));
    init.duplex = 'half';
  } else if (prepared.body instanceof Blob && !(report && nodeVersion())) {
    body = prepared.body;
  } else {
    // Stream (and count) the bytes where runtimes support streamed request bodies (Node), or when the
    // input is a stream anyway; storage needs a Content-Length, so it is set explicitly.
    body = counted(prepared, report) as ReadableStream<Uint8Array<ArrayBuffer>>;
    headers.set('Content-Length', String(prepared.size));
    init.duplex = 'half';
  }
  init.body = body;
  const request = new Request(url, init);
  let response: Response;
  try {
    response = await fetchImpl(request);
  } catch (err) {
    if (isAbortLike(err) || signal?.aborted) throw signal?.aborted ? abortReason(signal) : err;
    throw networkError(request, err);
  }
  await response.body?.cancel().catch(() => {});
  if (!succeeded(target, response.status)) throw uploadError(target, response.status);
}


/** @internal Where and how to send the bytes. */
export interface UploadTarget {
  url: string;
  method: string;
  headers: Headers;
  /** A form upload's policy fields, sent before the file. */
  fields?: Record<string, string>;
}

/** @internal The storage request `generate-url` describes, with the signed headers only. */
export function uploadTarget(answer: GenerateUploadUrlResponse): UploadTarget {
  const headers = new Headers();
  for (const [key, value] of Object.entries(answer.headers ?? {})) {
    // The storage URL is signed; our bearer token must never travel there.
    if (!/^(authorization|host|content-length)$/i.test(key)) headers.set(key, value);
  }
  if (!headers.has('Content-Type') && answer.content_type) headers.set('Content-Type', answer.content_type);
  const url = answer.upload_url || answer.url || answer.presigned_url;
  if (answer.method === 'POST' && answer.fields) return { url, method: 'POST', headers, fields: answer.fields };
  return { url, method: answer.method || 'PUT', headers };
}

/**
 * @internal Sends the prepared bytes to storage; only an HTTP 200 counts (any 2xx for a form upload). `xhr` picks
 * XMLHttpRequest (browsers without a custom fetch); `onProgress` hears 0 % first and 100 % last.
 */
export async function putToStorage(
  target: UploadTarget,
  prepared: Prepared,
  o: { fetch: FetchLike; xhr: boolean; onProgress: ((p: UploadProgress) => void) | undefined; signal: AbortSignal | undefined; filename?: string },
): Promise<void> {
  const report = o.onProgress ? progressReporter(prepared.size, o.onProgress) : undefined;
  report?.(0, true);
  if (o.xhr) {
    const blob = prepared.body instanceof Blob ? prepared.body : await new Response(prepared.body).blob();
    await putWithXhr(target, blob, o.filename ?? 'file', report ?? (() => {}), o.signal);
  } else {
    await putWithFetch(o.fetch, target, prepared, o.filename ?? 'file', report, o.signal);
  }
  report?.(prepared.size, true);
}
