/**
 * Everything `uploadVideo` accepts, turned into a body of known size (storage needs a length):
 * a Blob as is, bytes as a Blob, a Node file path opened lazily, a stream streamed or collected.
 * @module
 */
import type { UploadOptions } from './upload.js';

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

/** @internal An input ready to send. */
export interface Prepared {
  body: Blob | ReadableStream<Uint8Array>;
  size: number;
  name: string | undefined;
  type: string | undefined;
}

/** @internal The Node version, or `undefined` outside Node. */
export const nodeVersion = (): string | undefined =>
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
      // The iterator's return value (when `done`) is never used.
      const next: IteratorResult<Uint8Array | string, unknown> = await iterator.next();
      if (next.done) controller.close();
      else controller.enqueue(typeof next.value === 'string' ? new TextEncoder().encode(next.value) : next.value);
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

/** @internal Reads what {@link prepare} needs from any accepted input. */
export async function prepare(source: UploadSource, options: UploadOptions): Promise<Prepared> {
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

