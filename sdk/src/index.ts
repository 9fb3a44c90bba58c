/**
 * `@ecg/sdk`: the frontend client of the ECG backend (upload a video, start a job, follow it).
 *
 * Browser-safe: this entry imports no Node built-in. Node-only inputs (a file path) are opened
 * through a dynamic import that only runs in Node and that bundlers leave alone.
 * @module
 */
import createClient, { type Client, type Middleware } from 'openapi-fetch';
import { EcgApiError, errorFromResponse } from './errors.js';
import type { components, paths } from './generated/v1.1/backend.js';
import { abortReason, backoffDelay, isAbortLike, isTransientStatus, sleep, trimBase } from './internal.js';
import { readSse } from './sse.js';

export { EcgApiError } from './errors.js';
export type { ApiErrorBody, ApiErrorCode, SdkErrorCode } from './errors.js';

type Schemas = components['schemas'];

/**
 * The canonical transcript the backend returns in a completed job's `result`.
 *
 * @example
 * ```ts
 * import type { TranscriptResult } from '@ecg/sdk';
 * const lines = (r: TranscriptResult) => r.segments.map((s) => `${s.speaker.speaker_id ?? '?'}: ${s.text}`);
 * ```
 */
export type TranscriptResult = Schemas['TranscriptResult'];

/**
 * What `GET /api/upload-video/status/{job_id}` answers (and every Server-Sent Event carries).
 *
 * @example
 * ```ts
 * import type { JobStatusResponse } from '@ecg/sdk';
 * const label = (s: JobStatusResponse) => `${s.status} ${s.progress}% ${s.message ?? ''}`;
 * ```
 */
export type JobStatusResponse = Schemas['JobStatusResponse'];

/**
 * A job's state: `pending`, `processing`, or one of the terminal `completed`, `failed`, `cancelled`.
 *
 * @example
 * ```ts
 * import type { JobStatus } from '@ecg/sdk';
 * const done = (s: JobStatus) => s === 'completed' || s === 'failed' || s === 'cancelled';
 * ```
 */
export type JobStatus = Schemas['JobStatus'];

/**
 * The states a job does not leave.
 *
 * @example
 * ```ts
 * import type { TerminalJobState } from '@ecg/sdk';
 * const icons: Record<TerminalJobState, string> = { completed: '✔', failed: '✖', cancelled: '⏹' };
 * ```
 */
export type TerminalJobState = Extract<JobStatus, 'completed' | 'failed' | 'cancelled'>;

/**
 * A job status whose `status` is terminal: what {@link BackendClient.waitForJob} resolves with.
 *
 * @example
 * ```ts
 * import type { TerminalJobStatus } from '@ecg/sdk';
 * const text = (s: TerminalJobStatus) => (s.status === 'completed' ? s.result?.text ?? '' : s.error_message);
 * ```
 */
export type TerminalJobStatus = JobStatusResponse & { status: TerminalJobState };

/**
 * What `POST /api/upload-video/request-process` answers.
 *
 * @example
 * ```ts
 * import type { RequestProcessResponse } from '@ecg/sdk';
 * const eta = (r: RequestProcessResponse) => `job ${r.job_id}, about ${r.estimated_time} s`;
 * ```
 */
export type RequestProcessResponse = Schemas['RequestProcessResponse'];

/**
 * What `POST /api/upload-video/cancel/{job_id}` answers.
 *
 * @example
 * ```ts
 * import type { CancelJobResponse } from '@ecg/sdk';
 * const said = (r: CancelJobResponse) => r.message;
 * ```
 */
export type CancelJobResponse = Schemas['CancelJobResponse'];

/**
 * What `POST /api/upload-video/generate-url` answers.
 *
 * @example
 * ```ts
 * import type { GenerateUploadUrlResponse } from '@ecg/sdk';
 * const where = (r: GenerateUploadUrlResponse) => [r.method, r.upload_url, r.headers['Content-Type']];
 * ```
 */
export type GenerateUploadUrlResponse = Schemas['GenerateUploadUrlResponse'];

/**
 * The raw, fully typed openapi-fetch client of the backend (v1.1 contract).
 *
 * @example
 * ```ts
 * import { createBackendClient, type BackendApi } from '@ecg/sdk';
 * const api: BackendApi = createBackendClient({ baseUrl: 'https://ecg.example.com' }).api;
 * const { data } = await api.GET('/api/upload-video/ml-server/health');
 * ```
 */
export type BackendApi = Client<paths>;

/**
 * The fetch the SDK calls: it is always given a `Request`. `globalThis.fetch` fits.
 *
 * @example
 * ```ts
 * import type { FetchLike } from '@ecg/sdk';
 * const logged: FetchLike = async (req) => { console.log(req.method, req.url); return fetch(req); };
 * ```
 */
export type FetchLike = (input: Request) => Promise<Response>;

/**
 * A bearer token, or a function returning the current one (called before every backend request;
 * return `null`/`undefined` for anonymous requests).
 *
 * @example
 * ```ts
 * import type { TokenSource } from '@ecg/sdk';
 * const token: TokenSource = () => localStorage.getItem('access_token');
 * ```
 */
export type TokenSource = string | (() => string | null | undefined | Promise<string | null | undefined>);

/**
 * Options of {@link createBackendClient}.
 *
 * @example
 * ```ts
 * import type { BackendClientOptions } from '@ecg/sdk';
 * const options: BackendClientOptions = { baseUrl: 'https://ecg.example.com', token: 'eyJ...' };
 * ```
 */
export interface BackendClientOptions {
  /** The backend's origin (and path prefix, if any), e.g. `https://ecg.example.com`. */
  baseUrl: string;
  /** Sent as `Authorization: Bearer …` to the backend, never to the storage upload URL. */
  token?: TokenSource;
  /**
   * A fetch to use instead of `globalThis.fetch` (for the backend and the storage PUT). When given,
   * uploads use it even in browsers (no `XMLHttpRequest`, so progress is reported at the end).
   */
  fetch?: FetchLike;
}

/**
 * What {@link BackendClient.uploadVideo} accepts: a `Blob`/`File` (browsers and Node), bytes
 * (`ArrayBuffer`, `Uint8Array`, Node `Buffer`), and in Node only a file path or a readable stream
 * (any `AsyncIterable<Uint8Array>`).
 *
 * @example
 * ```ts
 * import type { UploadSource } from '@ecg/sdk';
 * const fromInput = (input: HTMLInputElement): UploadSource | undefined => input.files?.[0];
 * ```
 */
export type UploadSource = Blob | ArrayBuffer | ArrayBufferView | string | AsyncIterable<Uint8Array>;

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
  /** Aborts the upload. */
  signal?: AbortSignal;
}

/**
 * Input of {@link BackendClient.requestProcess}.
 *
 * @example
 * ```ts
 * import type { RequestProcessInput } from '@ecg/sdk';
 * const input: RequestProcessInput = { fileKey: 'videos/anonymous/20250911_034548_1a2b3c4d_talk.mp4', language: 'ko' };
 * ```
 */
export interface RequestProcessInput {
  /** The key {@link BackendClient.uploadVideo} returned. */
  fileKey: string;
  /** Spoken language code, or `auto` (the default). */
  language?: string;
  /** Repeating a request with the same key returns the same job. */
  idempotencyKey?: string;
  signal?: AbortSignal;
}

/**
 * Options of {@link BackendClient.waitForJob}.
 *
 * @example
 * ```ts
 * import type { WaitForJobOptions } from '@ecg/sdk';
 * const options: WaitForJobOptions = { intervalMs: 2000, onProgress: (s) => console.log(s.progress) };
 * ```
 */
export interface WaitForJobOptions {
  /** Called with every status received (each Server-Sent Event, each changed poll answer). */
  onProgress?: (status: JobStatusResponse) => void;
  /** Stops waiting; the promise rejects with the signal's reason. */
  signal?: AbortSignal;
  /** Polling interval when Server-Sent Events are not available, and the base of the backoff. Default 2000. */
  intervalMs?: number;
  /** The longest wait between retries after transient errors (network, 5xx, 429). Default 30000. */
  maxBackoffMs?: number;
  /** Consecutive transient errors tolerated before giving up (rejecting with the last one). Default 10. */
  maxRetries?: number;
  /** Try Server-Sent Events first. Default true. */
  sse?: boolean;
  /** An event stream silent for this long (the backend sends keep-alives) is dropped. Default 60000. */
  sseIdleTimeoutMs?: number;
}

/**
 * Options of {@link BackendClient.processVideo}: those of `uploadVideo` and `waitForJob`, plus the language.
 *
 * @example
 * ```ts
 * import type { ProcessVideoOptions } from '@ecg/sdk';
 * const options: ProcessVideoOptions = {
 *   language: 'auto',
 *   onUploadProgress: (p) => console.log('upload', p.percent),
 *   onProgress: (s) => console.log('job', s.progress, s.message),
 * };
 * ```
 */
export interface ProcessVideoOptions extends Omit<UploadOptions, 'onProgress'>, Omit<WaitForJobOptions, 'onProgress' | 'signal'> {
  language?: string;
  idempotencyKey?: string;
  onUploadProgress?: (progress: UploadProgress) => void;
  onProgress?: (status: JobStatusResponse) => void;
}

/**
 * The client {@link createBackendClient} returns: the raw typed client as `api`, plus helpers.
 *
 * @example
 * ```ts
 * import { createBackendClient, type BackendClient } from '@ecg/sdk';
 * const ecg: BackendClient = createBackendClient({ baseUrl: 'https://ecg.example.com' });
 * const status = await ecg.getStatus('550e8400-e29b-41d4-a716-446655440000');
 * ```
 */
export interface BackendClient {
  /** The openapi-fetch client, typed by the v1.1 contract; the token is sent on every call. */
  readonly api: BackendApi;
  /**
   * Asks for an upload URL, PUTs the bytes there with the signed headers (never `Authorization`),
   * and resolves with the file key. Only an HTTP 200 from storage counts as success.
   */
  uploadVideo(source: UploadSource, options?: UploadOptions): Promise<string>;
  /** Creates a job for an uploaded file. */
  requestProcess(input: RequestProcessInput): Promise<RequestProcessResponse>;
  /** The job's current status. */
  getStatus(jobId: string, options?: { signal?: AbortSignal }): Promise<JobStatusResponse>;
  /** Cancels a pending or processing job. */
  cancel(jobId: string, options?: { signal?: AbortSignal }): Promise<CancelJobResponse>;
  /**
   * Follows a job until it is `completed`, `failed` or `cancelled` (Server-Sent Events, else polling
   * with `If-None-Match`), retrying transient errors with exponential backoff. Rejects with an
   * {@link EcgApiError} on a non-transient error (`JOB_NOT_FOUND` for 404).
   */
  waitForJob(jobId: string, options?: WaitForJobOptions): Promise<TerminalJobStatus>;
  /** `uploadVideo` + `requestProcess` + `waitForJob`. Resolves with the terminal status (check `status`). */
  processVideo(source: UploadSource, options?: ProcessVideoOptions): Promise<TerminalJobStatus>;
}

const TERMINAL: readonly JobStatus[] = ['completed', 'failed', 'cancelled'];
const isTerminal = (s: JobStatusResponse): s is TerminalJobStatus => TERMINAL.includes(s.status);

/** Carries an error thrown by the caller's `onProgress` through the transport's error handling. */
class CallerError {
  constructor(readonly cause: unknown) {}
}

/** A per-request middleware: a success that is not JSON is an error, not a crash in JSON.parse. */
const expectJson: Middleware = {
  onResponse({ response }) {
    if (!response.ok || response.status === 204) return undefined;
    const type = response.headers.get('Content-Type') ?? '';
    if (/[/+]json\b/i.test(type)) return undefined;
    void response.body?.cancel().catch(() => {});
    throw new EcgApiError({
      status: response.status,
      code: 'INVALID_RESPONSE',
      message: `Expected a JSON answer, got ${type || 'no content type'} (HTTP ${response.status}).`,
    });
  },
};

/** Unwraps an openapi-fetch answer: the data of a 2xx, else an {@link EcgApiError}. */
async function call<D>(pending: Promise<{ data?: D; error?: unknown; response: Response }>): Promise<D> {
  let answer: { data?: D; error?: unknown; response: Response };
  try {
    answer = await pending;
  } catch (err) {
    if (err instanceof EcgApiError || isAbortLike(err)) throw err;
    // A JSON answer that does not parse is a broken answer, not a broken connection.
    if (err instanceof SyntaxError) throw new EcgApiError({ status: 0, code: 'INVALID_RESPONSE', message: `The answer is not valid JSON: ${err.message}`, cause: err });
    throw new EcgApiError({ status: 0, code: 'NETWORK_ERROR', message: err instanceof Error ? err.message : String(err), cause: err });
  }
  const { data, error, response } = answer;
  if (response.ok && data !== undefined) return data;
  if (response.ok) throw new EcgApiError({ status: response.status, code: 'INVALID_RESPONSE', message: 'The answer has no body.' });
  throw errorFromResponse(response, error);
}

const isTransient = (err: EcgApiError) =>
  err.code === 'NETWORK_ERROR' || err.code === 'INVALID_RESPONSE' || isTransientStatus(err.status);

function parseStatus(json: string): JobStatusResponse | undefined {
  try {
    const value: unknown = JSON.parse(json);
    if (typeof value === 'object' && value !== null && 'job_id' in value && 'status' in value) return value as JobStatusResponse;
  } catch {
    // not JSON: ignored
  }
  return undefined;
}

// ---------------------------------------------------------------------------------------------
// Upload inputs

interface Prepared {
  body: Blob | ReadableStream<Uint8Array>;
  size: number;
  name: string | undefined;
  type: string | undefined;
}

const nodeVersion = (): string | undefined =>
  (globalThis as { process?: { versions?: { node?: string } } }).process?.versions?.node;

/** Minimal view of `node:fs` used here (typed locally so this entry needs no Node types). */
interface NodeFs {
  openAsBlob(path: string, options?: { type?: string }): Promise<Blob>;
}

async function openNodeFile(path: string, type: string | undefined): Promise<Blob> {
  if (!nodeVersion()) throw new TypeError('A file path can only be uploaded from Node; pass a Blob or File in browsers.');
  // A computed specifier: bundlers targeting browsers do not follow it, Node resolves it at run time.
  const specifier = ['node', 'fs'].join(':');
  const fs = (await import(/* webpackIgnore: true */ /* @vite-ignore */ specifier)) as NodeFs;
  return fs.openAsBlob(path, type ? { type } : undefined);
}

function isAsyncIterable(value: unknown): value is AsyncIterable<Uint8Array> {
  return typeof value === 'object' && value !== null && Symbol.asyncIterator in value;
}

function iterableToStream(source: AsyncIterable<Uint8Array>): ReadableStream<Uint8Array> {
  const iterator = source[Symbol.asyncIterator]();
  return new ReadableStream<Uint8Array>({
    async pull(controller) {
      const { value, done } = await iterator.next();
      if (done) controller.close();
      else controller.enqueue(typeof value === 'string' ? new TextEncoder().encode(value) : value);
    },
    async cancel(reason) {
      await iterator.return?.(reason);
    },
  });
}

async function collect(source: AsyncIterable<Uint8Array>, type: string | undefined): Promise<Blob> {
  const chunks: Uint8Array<ArrayBuffer>[] = [];
  for await (const chunk of source) chunks.push(chunk as Uint8Array<ArrayBuffer>);
  return new Blob(chunks, type ? { type } : {});
}

async function prepare(source: UploadSource, options: UploadOptions): Promise<Prepared> {
  if (typeof Blob !== 'undefined' && source instanceof Blob) {
    const name = 'name' in source && typeof source.name === 'string' ? source.name : undefined;
    return { body: source, size: source.size, name, type: source.type || undefined };
  }
  if (source instanceof ArrayBuffer || ArrayBuffer.isView(source)) {
    const bytes = source instanceof ArrayBuffer ? new Uint8Array(source) : new Uint8Array(source.buffer, source.byteOffset, source.byteLength);
    const blob = new Blob([bytes as Uint8Array<ArrayBuffer>]);
    return { body: blob, size: blob.size, name: undefined, type: undefined };
  }
  if (typeof source === 'string') {
    const blob = await openNodeFile(source, options.contentType);
    return { body: blob, size: blob.size, name: source.split(/[\\/]/).pop() || undefined, type: undefined };
  }
  if (isAsyncIterable(source)) {
    const path = (source as { path?: unknown }).path; // fs.ReadStream carries its path
    const name = typeof path === 'string' ? path.split(/[\\/]/).pop() : undefined;
    if (options.size !== undefined) return { body: iterableToStream(source), size: options.size, name, type: undefined };
    const blob = await collect(source, options.contentType);
    return { body: blob, size: blob.size, name, type: undefined };
  }
  throw new TypeError('uploadVideo: unsupported input (expected a Blob, File, bytes, a file path or a readable stream).');
}

function progressReporter(total: number, onProgress: ((p: UploadProgress) => void) | undefined) {
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

function uploadError(status: number): EcgApiError {
  return new EcgApiError({ status, code: 'UPLOAD_FAILED', message: `The upload failed: storage answered HTTP ${status}.` });
}

/** Browsers: XMLHttpRequest, for real upload progress. */
function putWithXhr(url: string, method: string, headers: Headers, body: Blob, report: (n: number, force?: boolean) => void, signal?: AbortSignal) {
  return new Promise<void>((resolve, reject) => {
    if (signal?.aborted) return reject(abortReason(signal));
    const xhr = new XMLHttpRequest();
    const onAbort = () => xhr.abort();
    xhr.open(method, url);
    headers.forEach((value, key) => xhr.setRequestHeader(key, value));
    xhr.upload.onprogress = (e) => report(e.loaded, true); // browsers already pace these events
    xhr.onload = () => {
      signal?.removeEventListener('abort', onAbort);
      if (xhr.status === 200) resolve();
      else reject(uploadError(xhr.status));
    };
    xhr.onerror = () => {
      signal?.removeEventListener('abort', onAbort);
      reject(new EcgApiError({ status: 0, code: 'NETWORK_ERROR', message: 'The upload failed: network error.' }));
    };
    xhr.onabort = () => reject(signal ? abortReason(signal) : new DOMException('The upload was aborted', 'AbortError'));
    signal?.addEventListener('abort', onAbort, { once: true });
    xhr.send(body);
  });
}

async function putWithFetch(
  fetchImpl: FetchLike,
  url: string,
  method: string,
  headers: Headers,
  prepared: Prepared,
  report: ((n: number, force?: boolean) => void) | undefined,
  signal?: AbortSignal,
) {
  let body: BodyInit;
  const init: RequestInit & { duplex?: 'half' } = { method, headers, signal: signal ?? null };
  // Stream (and count) the bytes where runtimes support streamed request bodies (Node), or when the
  // input is a stream anyway; storage needs a Content-Length, so it is set explicitly.
  if (prepared.body instanceof Blob && !(report && nodeVersion())) {
    body = prepared.body;
  } else {
    let stream: ReadableStream<Uint8Array> = prepared.body instanceof Blob ? prepared.body.stream() : prepared.body;
    if (report) {
      let sent = 0;
      stream = stream.pipeThrough(
        new TransformStream<Uint8Array, Uint8Array>({
          transform(chunk, controller) {
            sent += chunk.byteLength;
            report(sent);
            controller.enqueue(chunk);
          },
        }),
      );
    }
    body = stream as ReadableStream<Uint8Array<ArrayBuffer>>;
    headers.set('Content-Length', String(prepared.size));
    init.duplex = 'half';
  }
  init.body = body;
  let response: Response;
  try {
    response = await fetchImpl(new Request(url, init));
  } catch (err) {
    if (isAbortLike(err) || signal?.aborted) throw signal?.aborted ? abortReason(signal) : err;
    throw new EcgApiError({ status: 0, code: 'NETWORK_ERROR', message: `The upload failed: ${err instanceof Error ? err.message : String(err)}`, cause: err });
  }
  await response.body?.cancel().catch(() => {});
  if (response.status !== 200) throw uploadError(response.status);
}

// ---------------------------------------------------------------------------------------------

/**
 * Creates the frontend client of the ECG backend.
 *
 * @example
 * ```ts
 * import { createBackendClient } from '@ecg/sdk';
 *
 * const ecg = createBackendClient({ baseUrl: 'https://ecg.example.com', token: () => session.token });
 * const fileKey = await ecg.uploadVideo(file, { onProgress: (p) => bar.set(p.percent) });
 * const { job_id } = await ecg.requestProcess({ fileKey, language: 'auto' });
 * const final = await ecg.waitForJob(job_id, { onProgress: (s) => label.set(s.message ?? '') });
 * if (final.status === 'completed') render(final.result);
 * ```
 */
export function createBackendClient(options: BackendClientOptions): BackendClient {
  const customFetch = options.fetch;
  const fetchImpl: FetchLike = customFetch ?? ((req) => globalThis.fetch(req));
  const api = createClient<paths>({ baseUrl: trimBase(options.baseUrl), fetch: fetchImpl });
  const { token } = options;
  if (token !== undefined) {
    api.use({
      async onRequest({ request }) {
        const value = typeof token === 'function' ? await token() : token;
        if (value) request.headers.set('Authorization', `Bearer ${value}`);
        return request;
      },
    });
  }

  async function uploadVideo(source: UploadSource, opts: UploadOptions = {}): Promise<string> {
    const prepared = await prepare(source, opts);
    const filename = opts.filename ?? prepared.name;
    if (!filename) throw new TypeError('uploadVideo: `filename` is required for this input.');
    const contentType = opts.contentType ?? prepared.type;
    const target = await call(
      api.POST('/api/upload-video/generate-url', {
        body: { filename, ...(contentType ? { content_type: contentType } : {}), file_size: prepared.size },
        signal: opts.signal ?? null,
        middleware: [expectJson],
      }),
    );
    const url = target.upload_url || target.url || target.presigned_url;
    const headers = new Headers();
    for (const [key, value] of Object.entries(target.headers ?? {})) {
      // The storage URL is signed; our bearer token must never travel there.
      if (!/^(authorization|host|content-length)$/i.test(key)) headers.set(key, value);
    }
    if (!headers.has('Content-Type') && target.content_type) headers.set('Content-Type', target.content_type);
    const method = target.method || 'PUT';
    const report = opts.onProgress ? progressReporter(prepared.size, opts.onProgress) : undefined;
    report?.(0, true);
    if (!customFetch && typeof XMLHttpRequest === 'function') {
      const blob = prepared.body instanceof Blob ? prepared.body : await new Response(prepared.body).blob();
      await putWithXhr(url, method, headers, blob, report ?? (() => {}), opts.signal);
    } else {
      await putWithFetch(fetchImpl, url, method, headers, prepared, report, opts.signal);
    }
    report?.(prepared.size, true);
    return target.fileKey || target.file_key;
  }

  function requestProcess(input: RequestProcessInput): Promise<RequestProcessResponse> {
    return call(
      api.POST('/api/upload-video/request-process', {
        body: { fileKey: input.fileKey, language: input.language ?? 'auto' },
        params: { header: input.idempotencyKey ? { 'Idempotency-Key': input.idempotencyKey } : {} },
        signal: input.signal ?? null,
        middleware: [expectJson],
      }),
    );
  }

  function getStatus(jobId: string, opts: { signal?: AbortSignal } = {}): Promise<JobStatusResponse> {
    return call(
      api.GET('/api/upload-video/status/{job_id}', { params: { path: { job_id: jobId } }, signal: opts.signal ?? null, middleware: [expectJson] }),
    );
  }

  function cancel(jobId: string, opts: { signal?: AbortSignal } = {}): Promise<CancelJobResponse> {
    return call(
      api.POST('/api/upload-video/cancel/{job_id}', { params: { path: { job_id: jobId } }, signal: opts.signal ?? null, middleware: [expectJson] }),
    );
  }

  /** Follows the event stream; `undefined` means "use polling instead". */
  async function followEvents(
    jobId: string,
    o: { signal: AbortSignal | undefined; intervalMs: number; idleMs: number; emit: (s: JobStatusResponse) => void },
  ): Promise<TerminalJobStatus | undefined> {
    let reconnects = 0;
    for (;;) {
      if (o.signal?.aborted) throw abortReason(o.signal);
      const controller = new AbortController();
      const onAbort = () => controller.abort(o.signal ? abortReason(o.signal) : undefined);
      o.signal?.addEventListener('abort', onAbort, { once: true });
      let idle: ReturnType<typeof setTimeout> | undefined;
      const arm = () => {
        clearTimeout(idle);
        idle = setTimeout(() => controller.abort(new DOMException('The event stream went silent', 'TimeoutError')), o.idleMs);
      };
      let events = 0;
      try {
        arm();
        const { data: stream, response } = await api.GET('/api/upload-video/status/{job_id}/events', {
          params: { path: { job_id: jobId } },
          parseAs: 'stream',
          headers: { Accept: 'text/event-stream' },
          signal: controller.signal,
        });
        if (!response.ok || !stream || !/text\/event-stream/i.test(response.headers.get('Content-Type') ?? '')) {
          await stream?.cancel().catch(() => {});
          return undefined;
        }
        for await (const event of readSse(stream, arm, controller.signal)) {
          if (event.event !== 'status') continue;
          const status = parseStatus(event.data);
          if (!status) continue;
          events++;
          reconnects = 0;
          o.emit(status);
          if (isTerminal(status)) return status;
        }
      } catch (err) {
        if (err instanceof CallerError) throw err.cause;
        if (o.signal?.aborted) throw abortReason(o.signal);
        if (err instanceof EcgApiError && !isTransient(err)) throw err;
        // A dropped or silent stream: reconnect below if it had been working.
      } finally {
        clearTimeout(idle);
        o.signal?.removeEventListener('abort', onAbort);
      }
      if (o.signal?.aborted) throw abortReason(o.signal);
      if (events === 0 || ++reconnects > 3) return undefined;
      await sleep(Math.min(o.intervalMs, 1000), o.signal);
    }
  }

  async function waitForJob(jobId: string, opts: WaitForJobOptions = {}): Promise<TerminalJobStatus> {
    const { signal, onProgress } = opts;
    const intervalMs = opts.intervalMs ?? 2000;
    const maxBackoffMs = opts.maxBackoffMs ?? 30_000;
    const maxRetries = opts.maxRetries ?? 10;
    // An error thrown by the caller's own callback ends the wait with that error; it is never taken
    // for a transport failure (which would be retried).
    const emit = (s: JobStatusResponse) => {
      try {
        onProgress?.(s);
      } catch (cause) {
        throw new CallerError(cause);
      }
    };

    if (opts.sse !== false) {
      const viaEvents = await followEvents(jobId, { signal, intervalMs, idleMs: opts.sseIdleTimeoutMs ?? 60_000, emit });
      if (viaEvents) return viaEvents;
    }

    let etag: string | undefined;
    let failures = 0;
    for (;;) {
      if (signal?.aborted) throw abortReason(signal);
      let delay = intervalMs;
      try {
        const { data, error, response } = await api.GET('/api/upload-video/status/{job_id}', {
          params: { path: { job_id: jobId }, header: etag ? { 'If-None-Match': etag } : {} },
          signal: signal ?? null,
          middleware: [expectJson],
        });
        if (response.status === 304) {
          failures = 0;
        } else if (response.ok && data) {
          failures = 0;
          etag = response.headers.get('ETag') ?? undefined;
          emit(data);
          if (isTerminal(data)) return data;
        } else {
          throw errorFromResponse(response, error);
        }
      } catch (caught) {
        if (caught instanceof CallerError) throw caught.cause;
        if (signal?.aborted) throw abortReason(signal);
        if (isAbortLike(caught)) throw caught;
        const err =
          caught instanceof EcgApiError
            ? caught
            : new EcgApiError({ status: 0, code: 'NETWORK_ERROR', message: caught instanceof Error ? caught.message : String(caught), cause: caught });
        if (!isTransient(err) || ++failures > maxRetries) throw err;
        delay = Math.max(backoffDelay(failures, intervalMs, maxBackoffMs), err.retryAfterMs ?? 0);
      }
      await sleep(delay, signal);
    }
  }

  async function processVideo(source: UploadSource, opts: ProcessVideoOptions = {}): Promise<TerminalJobStatus> {
    const { onUploadProgress, onProgress, language, idempotencyKey, filename, contentType, size, signal, ...wait } = opts;
    const fileKey = await uploadVideo(source, {
      ...(filename !== undefined ? { filename } : {}),
      ...(contentType !== undefined ? { contentType } : {}),
      ...(size !== undefined ? { size } : {}),
      ...(onUploadProgress ? { onProgress: onUploadProgress } : {}),
      ...(signal ? { signal } : {}),
    });
    const job = await requestProcess({
      fileKey,
      ...(language !== undefined ? { language } : {}),
      ...(idempotencyKey !== undefined ? { idempotencyKey } : {}),
      ...(signal ? { signal } : {}),
    });
    return waitForJob(job.job_id, { ...wait, ...(onProgress ? { onProgress } : {}), ...(signal ? { signal } : {}) });
  }

  return { api, uploadVideo, requestProcess, getStatus, cancel, waitForJob, processVideo };
}
