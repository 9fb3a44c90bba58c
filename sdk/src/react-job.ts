/**
 * A job's status as a TanStack query: the query key comes from openapi-react-query (the v1.1
 * status operation), and the query function follows the job with the client's own `waitForJob`
 * (Server-Sent Events, else ETag polling), writing every status it sees into the cache.
 * @module
 */
import type { QueryFunctionContext, UseQueryOptions } from '@tanstack/react-query';
import createQueryClient from 'openapi-react-query';
import type { BackendClient } from './backend-client.js';
import { call, expectJson } from './call.js';
import type { EcgApiError } from './errors.js';
import { isTerminal } from './follow.js';
import type { components } from './generated/v1.1/backend.js';
import type { JobStatusResponse } from './types.js';

const STATUS = '/api/upload-video/status/{job_id}';

/**
 * The query options of one job's status (what {@link EcgReact.jobQuery} returns).
 *
 * @example
 * ```ts
 * import type { JobQueryOptions } from '@ecg/sdk/react';
 * const keyOf = (o: JobQueryOptions) => o.queryKey;
 * ```
 */
export type JobQueryOptions = UseQueryOptions<JobStatusResponse, EcgApiError, JobStatusResponse, JobQueryKey> & {
  queryKey: JobQueryKey;
};

/**
 * The query key of a job's status: the one openapi-react-query gives `GET /api/upload-video/status/{job_id}`.
 *
 * @example
 * ```ts
 * import type { JobQueryKey } from '@ecg/sdk/react';
 * const key: JobQueryKey = ['get', '/api/upload-video/status/{job_id}', { params: { path: { job_id: '550e8400-e29b-41d4-a716-446655440000' } } }];
 * ```
 */
export type JobQueryKey = readonly ['get', typeof STATUS, { params: { path: { job_id: string } } }];

/** @internal Builds {@link JobQueryOptions} for a client. */
export function jobQueries(client: BackendClient): (jobId: string) => JobQueryOptions {
  const $api = createQueryClient(client.api);
  return (jobId) => {
    const { queryKey } = $api.queryOptions('get', STATUS, { params: { path: { job_id: jobId } } });
    const key = queryKey as JobQueryKey;
    return {
      queryKey: key,
      queryFn: ({ signal, client: cache }: QueryFunctionContext<JobQueryKey>) =>
        // The query resolves only at the end; meanwhile each status is written to the cache, so
        // observers see the job move while the query is still fetching.
        client.waitForJob(jobId, { signal, onProgress: (status) => cache.setQueryData(key, status) }),
      // A finished job does not change: never refetched. An unfinished one is followed again when
      // it is observed anew (a remount, a refocused window) and no follow is running.
      staleTime: (query) => (query.state.data && isTerminal(query.state.data) ? Infinity : 0),
      // waitForJob already retries transient errors with backoff; what reaches here is final.
      retry: false,
    };
  };
}

/**
 * What `GET /api/upload-video/video/{job_id}` answers: a presigned, playable URL of the job's video.
 *
 * @example
 * ```ts
 * import type { JobVideoResponse } from '@ecg/sdk/react';
 * const src = (v: JobVideoResponse) => v.video_url;
 * ```
 */
export type JobVideoResponse = components['schemas']['JobVideoResponse'];

const VIDEO = '/api/upload-video/video/{job_id}';

/** @internal The query of a job's video URL: keyed by openapi-react-query, fetched through the client (errors are EcgApiError). */
export function videoQueries(client: BackendClient) {
  const $api = createQueryClient(client.api);
  return (jobId: string) => ({
    queryKey: $api.queryOptions('get', VIDEO, { params: { path: { job_id: jobId } } }).queryKey,
    queryFn: ({ signal }: { signal: AbortSignal }) =>
      call(client.api.GET(VIDEO, { params: { path: { job_id: jobId } }, signal, middleware: [expectJson] })),
    // Fresh for most of its life; never swapped under a playing video by a window refocus.
    staleTime: (query: { state: { data?: JobVideoResponse | undefined } }) => (query.state.data?.expires_in ?? 60) * 800,
    refetchOnWindowFocus: false,
    retry: false,
  });
}
