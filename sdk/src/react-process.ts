/**
 * `useProcessVideo`: upload, request processing, and follow the job, for several files at once.
 * The following is the job's query ({@link EcgReact.useJob}), so every component showing the same
 * job shares one event stream and one cache entry.
 * @module
 */
import { useQueries } from '@tanstack/react-query';
import { useCallback } from 'react';
import type { BackendClient } from './backend-client.js';
import type { EcgApiError } from './errors.js';
import { isAbortLike } from './internal.js';
import type { JobQueryOptions } from './react-job.js';
import { asApiError, type FilesInput,filesOf, nameOf, noProgress, useEntryList } from './react-list.js';
import type { JobStatus, JobStatusResponse } from './types.js';
import type { UploadProgress } from './upload.js';

/**
 * Where one file is: `uploading`, `starting` (asking for a job), then the job's own status
 * (`pending`, `processing`, `completed`, `failed`, `cancelled`); or `error` (the upload, the request
 * or the following failed: see `error`), or `aborted` (cancelled before a job existed).
 *
 * @example
 * ```ts
 * import type { ProcessStage } from '@ecg/sdk/react';
 * const busy = (s: ProcessStage) => s === 'uploading' || s === 'starting' || s === 'pending' || s === 'processing';
 * ```
 */
export type ProcessStage = 'uploading' | 'starting' | JobStatus | 'error' | 'aborted';

/**
 * One file of {@link UseProcessVideo}.
 *
 * @example
 * ```ts
 * import type { ProcessItem } from '@ecg/sdk/react';
 * const line = (p: ProcessItem) =>
 *   p.stage === 'uploading' ? `${p.name}: uploading ${p.upload.percent}%` : `${p.name}: ${p.stage} ${p.job?.progress ?? 0}% ${p.job?.message ?? ''}`;
 * ```
 */
export interface ProcessItem {
  /** Stable for the item's life: a React key. */
  readonly id: string;
  readonly file: Blob;
  readonly name: string;
  readonly stage: ProcessStage;
  readonly upload: UploadProgress;
  /** Set once the backend created the job. */
  readonly jobId: string | undefined;
  /** The job's latest status (live), with `result` once `completed`. */
  readonly job: JobStatusResponse | undefined;
  /** Why the stage is `error` (or why a cancel request failed). */
  readonly error: EcgApiError | undefined;
  /**
   * Stops this file: aborts the upload, or asks the backend to cancel the job (its stage then
   * becomes `cancelled` through the stream). No effect once it is over.
   */
  cancel(): void;
}

/**
 * What {@link EcgReact.useProcessVideo} returns.
 *
 * @example
 * ```ts
 * import type { UseProcessVideo } from '@ecg/sdk/react';
 * const start = (p: UseProcessVideo, files: FileList) => p.process(files, { language: 'auto' });
 * ```
 */
export interface UseProcessVideo {
  /** Every file started here and not removed, in the order started. */
  readonly items: readonly ProcessItem[];
  /**
   * Starts upload + request + follow for each file, all at once. Resolves, in the same order, with
   * each job id, or `undefined` for a file that never got a job (its item says why). Never rejects.
   */
  process(files: FilesInput, options?: { language?: string }): Promise<Array<string | undefined>>;
  /** Forgets one file (an upload still running is aborted; a job keeps running on the backend). */
  remove(id: string): void;
  /** Forgets every file. */
  clear(): void;
}

interface ProcessEntry {
  id: string;
  file: Blob;
  stage: 'uploading' | 'starting' | 'started' | 'error' | 'aborted';
  upload: UploadProgress;
  jobId: string | undefined;
  error: EcgApiError | undefined;
}

/** @internal The hook, bound to a client and its job queries. */
export function processHook(client: BackendClient, jobQuery: (jobId: string) => JobQueryOptions): () => UseProcessVideo {
  return function useProcessVideo(): UseProcessVideo {
    const list = useEntryList<ProcessEntry>();
    const { add, patch, settle, abort } = list;

    const process = useCallback(
      (files: FilesInput, options: { language?: string } = {}) =>
        Promise.all(
          filesOf(files).map(async (file) => {
            let signal!: AbortSignal;
            const { id } = add((id, s) => {
              signal = s;
              return { id, file, stage: 'uploading', upload: noProgress(file), jobId: undefined, error: undefined };
            });
            try {
              const fileKey = await client.uploadVideo(file, { signal, onProgress: (upload) => patch(id, { upload }) });
              patch(id, { stage: 'starting' });
              const job = await client.requestProcess({ fileKey, signal, ...(options.language ? { language: options.language } : {}) });
              patch(id, { stage: 'started', jobId: job.job_id });
              return job.job_id;
            } catch (err) {
              if (signal.aborted || isAbortLike(err)) patch(id, { stage: 'aborted' });
              else patch(id, { stage: 'error', error: asApiError(err) });
              return undefined;
            } finally {
              settle(id);
            }
          }),
        ),
      [add, patch, settle],
    );

    const { entries } = list;
    const started = entries.filter((e) => e.jobId !== undefined);
    const jobs = useQueries({ queries: started.map((e) => jobQuery(e.jobId!)) });

    // Recomputed each render: cheap, and the job queries' results are fresh objects anyway.
    const byId = new Map(started.map((e, i) => [e.id, jobs[i]] as const));
    const items = entries.map((e): ProcessItem => {
        const query = byId.get(e.id);
        const job = query?.data;
        const error = e.error ?? query?.error ?? undefined;
        const stage: ProcessStage = e.stage !== 'started' ? e.stage : job ? job.status : query?.error ? 'error' : 'pending';
        return {
          id: e.id,
          file: e.file,
          name: nameOf(e.file),
          stage,
          upload: e.upload,
          jobId: e.jobId,
          job,
          error,
          cancel: () => {
            if (e.jobId === undefined) return abort(e.id);
            void client.cancel(e.jobId).catch((err: unknown) => patch(e.id, { error: asApiError(err) }));
          },
        };
      });

    return { items, process, remove: list.remove, clear: list.clear };
  };
}
