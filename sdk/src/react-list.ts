/**
 * The state shared by the upload and process hooks: a list of transfers, each with its own abort
 * controller, patched as its progress comes in.
 * @internal
 * @module
 */
import { useCallback, useEffect, useRef, useState } from 'react';
import { EcgApiError } from './errors.js';
import { randomId } from './internal.js';
import type { UploadProgress } from './upload.js';

/**
 * What the upload hooks accept as "several files": one file, an array, or a `FileList`.
 *
 * @example
 * ```ts
 * import type { FilesInput } from '@ecg/sdk/react';
 * const fromInput = (input: HTMLInputElement): FilesInput => input.files ?? [];
 * ```
 */
export type FilesInput = Blob | Iterable<Blob> | ArrayLike<Blob>;

/** @internal The files of a {@link FilesInput}, in order. */
export function filesOf(input: FilesInput): Blob[] {
  if (input instanceof Blob) return [input];
  return Array.from(input as ArrayLike<Blob>);
}

/** @internal A file's display name (`File.name`, or `upload` for a bare Blob). */
export const nameOf = (file: Blob): string => (typeof File === 'function' && file instanceof File ? file.name : 'upload');

/** @internal What nothing sent yet looks like. */
export const noProgress = (file: Blob): UploadProgress => ({ loaded: 0, total: file.size, percent: 0 });

/**
 * @internal Every failure the hooks expose is an {@link EcgApiError}. The SDK's calls already throw
 * one (network failures included); anything else comes from reading the input, so `UPLOAD_FAILED`.
 */
export function asApiError(err: unknown): EcgApiError {
  if (err instanceof EcgApiError) return err;
  return new EcgApiError({ status: 0, code: 'UPLOAD_FAILED', message: err instanceof Error ? err.message : String(err), cause: err });
}

/** @internal One entry of the list, before the hook adds its methods. */
export interface Entry {
  id: string;
  file: Blob;
}

/**
 * @internal A list of entries with an abort controller each. In-flight work is aborted when the
 * component unmounts: a transfer belongs to the component that started it.
 */
export function useEntryList<T extends Entry>() {
  const [entries, setEntries] = useState<readonly T[]>([]);
  const controllers = useRef(new Map<string, AbortController>());

  useEffect(() => {
    const owned = controllers.current;
    return () => {
      for (const c of owned.values()) c.abort();
      owned.clear();
    };
  }, []);

  const add = useCallback((make: (id: string, signal: AbortSignal) => T): T => {
    const id = randomId();
    const controller = new AbortController();
    controllers.current.set(id, controller);
    const entry = make(id, controller.signal);
    setEntries((list) => [...list, entry]);
    return entry;
  }, []);

  const patch = useCallback((id: string, change: Partial<T>) => {
    setEntries((list) => list.map((e) => (e.id === id ? { ...e, ...change } : e)));
  }, []);

  /** Marks the end of an entry's own work (its controller is no longer needed). */
  const settle = useCallback((id: string) => {
    controllers.current.delete(id);
  }, []);

  const abort = useCallback((id: string) => {
    controllers.current.get(id)?.abort();
  }, []);

  const remove = useCallback((id: string) => {
    controllers.current.get(id)?.abort();
    controllers.current.delete(id);
    setEntries((list) => list.filter((e) => e.id !== id));
  }, []);

  const clear = useCallback(() => {
    for (const c of controllers.current.values()) c.abort();
    controllers.current.clear();
    setEntries([]);
  }, []);

  return { entries, add, patch, settle, abort, remove, clear };
}
