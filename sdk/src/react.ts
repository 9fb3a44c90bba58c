/**
 * `@ecg/sdk/react`: TanStack Query hooks over the frontend client. A job's status is a query fed
 * by the event stream (ETag polling where there is none); uploads and whole runs (upload, request,
 * follow) are lists with progress, errors and cancelling per file. Needs `react` 18 or 19,
 * `@tanstack/react-query` 5 and `openapi-react-query` (optional peer dependencies of the SDK: the
 * other entries need none of them).
 *
 * One factory, no provider of its own: the hooks use the app's `QueryClientProvider`, so they fit
 * an app that already uses TanStack Query (Next.js included: create the hooks in a module of
 * client components).
 *
 * @example
 * ```tsx
 * 'use client';
 * import { createBackendClient } from '@ecg/sdk';
 * import { createEcgReact } from '@ecg/sdk/react';
 *
 * export const ecg = createEcgReact(createBackendClient({ baseUrl: process.env.NEXT_PUBLIC_ECG_URL!, token: () => sessionStorage.getItem('token') }));
 *
 * export function Job({ id }: { id: string }) {
 *   const { data, error } = ecg.useJob(id);
 *   if (error) return <p role="alert">{error.code}: {error.message}</p>;
 *   return <p>{data?.status} {data?.progress}%</p>;
 * }
 * ```
 * @module
 */
import { useQuery, type UseQueryResult } from '@tanstack/react-query';
import type { BackendClient } from './backend-client.js';
import type { EcgApiError } from './errors.js';
import { jobQueries, type JobQueryKey, type JobQueryOptions, type JobVideoResponse,videoQueries } from './react-job.js';
import { processHook, type UseProcessVideo } from './react-process.js';
import { uploadHook, type UseUploadVideo } from './react-upload.js';
import type { JobStatusResponse } from './types.js';

export { EcgApiError } from './errors.js';
export type { JobQueryKey, JobQueryOptions, JobVideoResponse } from './react-job.js';
export type { FilesInput } from './react-list.js';
export type { ProcessItem, ProcessStage, UseProcessVideo } from './react-process.js';
export type { UploadItem, UploadState, UseUploadVideo } from './react-upload.js';

/**
 * Options of {@link EcgReact.useJob}.
 *
 * @example
 * ```ts
 * import type { UseJobOptions } from '@ecg/sdk/react';
 * const options: UseJobOptions = { enabled: false };
 * ```
 */
export interface UseJobOptions {
  /** `false` keeps the query idle (no stream, no polling). Default true. */
  enabled?: boolean;
}

/**
 * The hooks {@link createEcgReact} binds to one client.
 *
 * @example
 * ```tsx
 * import type { EcgReact } from '@ecg/sdk/react';
 * function Uploads({ ecg }: { ecg: EcgReact }) {
 *   const { items, process } = ecg.useProcessVideo();
 *   return (
 *     <>
 *       <input type="file" multiple onChange={(e) => e.target.files && void process(e.target.files)} />
 *       {items.map((i) => <progress key={i.id} max={100} value={i.stage === 'uploading' ? i.upload.percent : i.job?.progress ?? 0} />)}
 *     </>
 *   );
 * }
 * ```
 */
export interface EcgReact {
  /** The client the hooks call. */
  readonly client: BackendClient;
  /**
   * A job's live status as a query. Fed by the job's event stream, which writes each status into
   * the query cache; polls with `If-None-Match` where no stream is offered. Stops at `completed`,
   * `failed` or `cancelled`, and the cache keeps that status (with the `result`): it is never
   * refetched. `error` is an {@link EcgApiError} (`JOB_NOT_FOUND`, `NETWORK_ERROR`, ...).
   * Components showing the same job share one stream.
   */
  useJob(jobId: string | null | undefined, options?: UseJobOptions): UseQueryResult<JobStatusResponse, EcgApiError>;
  /**
   * A playable URL of the job's video (`getJobVideo`, v1.1): presigned, so a `<video>` loads it
   * without the token. Kept fresh for most of its `expires_in`, and not refetched on window focus,
   * so a playing video's source does not change under it. `error` is an {@link EcgApiError}.
   */
  useJobVideo(jobId: string | null | undefined, options?: UseJobOptions): UseQueryResult<JobVideoResponse, EcgApiError>;
  /** Uploads several files at once, each with its own progress, error and `abort()`. */
  useUploadVideo(): UseUploadVideo;
  /** Uploads, requests processing and follows the job, for several files at once. */
  useProcessVideo(): UseProcessVideo;
  /**
   * The query options {@link EcgReact.useJob} uses, for `queryClient.prefetchQuery`,
   * `useSuspenseQuery` or `useQueries`. The key is openapi-react-query's key of the status
   * operation, so `queryClient.getQueryData(key)` reads what the stream wrote.
   */
  jobQuery(jobId: string): JobQueryOptions;
  /** The cache key of a job's status. */
  jobKey(jobId: string): JobQueryKey;
}

/**
 * Binds the React hooks to a frontend client. Call it once, at module level, and use the hooks
 * under the app's `QueryClientProvider`.
 *
 * @example
 * ```tsx
 * import { QueryClient, QueryClientProvider } from '@tanstack/react-query';
 * import { createBackendClient } from '@ecg/sdk';
 * import { createEcgReact } from '@ecg/sdk/react';
 *
 * const ecg = createEcgReact(createBackendClient({ baseUrl: 'https://ecg.example.com' }));
 * const queryClient = new QueryClient();
 *
 * function Transcript({ jobId }: { jobId: string }) {
 *   const job = ecg.useJob(jobId);
 *   if (job.error) return <p role="alert">{job.error.code}</p>;
 *   if (job.data?.status !== 'completed') return <progress max={100} value={job.data?.progress ?? 0} />;
 *   return <p>{job.data.result?.text}</p>;
 * }
 *
 * export const App = () => (
 *   <QueryClientProvider client={queryClient}>
 *     <Transcript jobId="550e8400-e29b-41d4-a716-446655440000" />
 *   </QueryClientProvider>
 * );
 * ```
 */
export function createEcgReact(client: BackendClient): EcgReact {
  const jobQuery = jobQueries(client);
  const videoQuery = videoQueries(client);
  return {
    client,
    useJob(jobId, options = {}) {
      return useQuery({ ...jobQuery(jobId ?? ''), enabled: Boolean(jobId) && options.enabled !== false });
    },
    useJobVideo(jobId, options = {}) {
      return useQuery<JobVideoResponse, EcgApiError, JobVideoResponse, readonly unknown[]>({
        ...videoQuery(jobId ?? ''),
        enabled: Boolean(jobId) && options.enabled !== false,
      });
    },
    useUploadVideo: uploadHook(client),
    useProcessVideo: processHook(client, jobQuery),
    jobQuery,
    jobKey: (jobId) => jobQuery(jobId).queryKey,
  };
}
