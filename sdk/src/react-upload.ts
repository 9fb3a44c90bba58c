/**
 * `useUploadVideo`: several uploads at once, each with its own progress, error and abort.
 * @module
 */
import { useCallback, useMemo } from 'react';
import type { BackendClient } from './backend-client.js';
import type { EcgApiError } from './errors.js';
import { isAbortLike } from './internal.js';
import { asApiError, type FilesInput,filesOf, nameOf, noProgress, useEntryList } from './react-list.js';
import type { UploadProgress } from './upload.js';

/**
 * Where one upload is: sending bytes, done (it has a `fileKey`), failed (it has an `error`), or
 * aborted by the user.
 *
 * @example
 * ```ts
 * import type { UploadState } from '@ecg/sdk/react';
 * const labels: Record<UploadState, string> = { uploading: 'Sending', uploaded: 'Sent', failed: 'Failed', aborted: 'Stopped' };
 * ```
 */
export type UploadState = 'uploading' | 'uploaded' | 'failed' | 'aborted';

/**
 * One file of {@link UseUploadVideo}.
 *
 * @example
 * ```ts
 * import type { UploadItem } from '@ecg/sdk/react';
 * const line = (u: UploadItem) => `${u.name}: ${u.state} ${u.progress.percent}%${u.error ? ` (${u.error.code})` : ''}`;
 * ```
 */
export interface UploadItem {
  /** Stable for the item's life: a React key. */
  readonly id: string;
  readonly file: Blob;
  /** The file's name (`upload` for a bare Blob). */
  readonly name: string;
  readonly state: UploadState;
  readonly progress: UploadProgress;
  /** The storage key, once `uploaded`: what `requestProcess` takes. */
  readonly fileKey: string | undefined;
  /** Why it `failed`. */
  readonly error: EcgApiError | undefined;
  /** Stops this upload (no effect once it is over). */
  abort(): void;
}

/**
 * What {@link EcgReact.useUploadVideo} returns.
 *
 * @example
 * ```ts
 * import type { UseUploadVideo } from '@ecg/sdk/react';
 * const sendAll = (u: UseUploadVideo, files: FileList) => u.upload(files);
 * ```
 */
export interface UseUploadVideo {
  /** Every upload started here and not removed, in the order started. */
  readonly uploads: readonly UploadItem[];
  /**
   * Starts one upload per file, all at once. Resolves, in the same order, with each file key, or
   * `undefined` for a file that failed or was aborted (its item says which). Never rejects.
   */
  upload(files: FilesInput, options?: { contentType?: string }): Promise<Array<string | undefined>>;
  /** Aborts (if running) and forgets one upload. */
  remove(id: string): void;
  /** Aborts and forgets every upload. */
  clear(): void;
}

interface UploadEntry {
  id: string;
  file: Blob;
  state: UploadState;
  progress: UploadProgress;
  fileKey: string | undefined;
  error: EcgApiError | undefined;
}

/** @internal The hook, bound to a client. */
export function uploadHook(client: BackendClient): () => UseUploadVideo {
  return function useUploadVideo(): UseUploadVideo {
    const list = useEntryList<UploadEntry>();
    const { add, patch, settle, abort } = list;

    const upload = useCallback(
      (files: FilesInput, options: { contentType?: string } = {}) =>
        Promise.all(
          filesOf(files).map(async (file) => {
            let signal!: AbortSignal;
            const { id } = add((id, s) => {
              signal = s;
              return { id, file, state: 'uploading', progress: noProgress(file), fileKey: undefined, error: undefined };
            });
            try {
              const fileKey = await client.uploadVideo(file, {
                signal,
                onProgress: (progress) => patch(id, { progress }),
                ...(options.contentType ? { contentType: options.contentType } : {}),
              });
              patch(id, { state: 'uploaded', fileKey });
              return fileKey;
            } catch (err) {
              if (signal.aborted || isAbortLike(err)) patch(id, { state: 'aborted' });
              else patch(id, { state: 'failed', error: asApiError(err) });
              return undefined;
            } finally {
              settle(id);
            }
          }),
        ),
      [add, patch, settle],
    );

    const uploads = useMemo(
      () => list.entries.map((e): UploadItem => ({ ...e, name: nameOf(e.file), abort: () => abort(e.id) })),
      [list.entries, abort],
    );
    return { uploads, upload, remove: list.remove, clear: list.clear };
  };
}
