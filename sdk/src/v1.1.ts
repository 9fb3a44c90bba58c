/**
 * `@ecg/sdk/v1.1`: the types generated from the v1.1 contract, under clear names: the backend's
 * and the ML server's `paths`, `components` and `operations`, and the canonical result.
 * Types only: this entry has no runtime code.
 * @module
 */
import type * as Backend from './generated/v1.1/backend.js';
import type * as MlServer from './generated/v1.1/ml-server.js';

/**
 * The backend's paths (v1.1), as openapi-typescript generated them; what openapi-fetch is typed by.
 *
 * @example
 * ```ts
 * import createClient from 'openapi-fetch';
 * import type { BackendPaths } from '@ecg/sdk/v1.1';
 * const api = createClient<BackendPaths>({ baseUrl: 'https://ecg.example.com' });
 * ```
 */
export type BackendPaths = Backend.paths;

/**
 * The backend's components (v1.1): `schemas`, `responses`, `parameters`, ...
 *
 * @example
 * ```ts
 * import type { BackendComponents } from '@ecg/sdk/v1.1';
 * type ErrorEnvelope = BackendComponents['schemas']['Error'];
 * ```
 */
export type BackendComponents = Backend.components;

/**
 * The backend's operations by operationId (v1.1).
 *
 * @example
 * ```ts
 * import type { BackendOperations } from '@ecg/sdk/v1.1';
 * type StatusAnswer = BackendOperations['getJobStatus']['responses'][200]['content']['application/json'];
 * ```
 */
export type BackendOperations = Backend.operations;

/**
 * The backend's schemas (v1.1), a shortcut for `BackendComponents['schemas']`.
 *
 * @example
 * ```ts
 * import type { BackendSchemas } from '@ecg/sdk/v1.1';
 * type Status = BackendSchemas['JobStatusResponse'];
 * ```
 */
export type BackendSchemas = Backend.components['schemas'];

/**
 * The ML server's paths (v1.1): `process-video`, `status`, `health`.
 *
 * @example
 * ```ts
 * import createClient from 'openapi-fetch';
 * import type { MlServerPaths } from '@ecg/sdk/v1.1';
 * const ml = createClient<MlServerPaths>({ baseUrl: 'http://ml:8080' });
 * ```
 */
export type MlServerPaths = MlServer.paths;

/**
 * The ML server's components (v1.1).
 *
 * @example
 * ```ts
 * import type { MlServerComponents } from '@ecg/sdk/v1.1';
 * type Request = MlServerComponents['schemas']['ProcessVideoRequest'];
 * ```
 */
export type MlServerComponents = MlServer.components;

/**
 * The ML server's operations by operationId (v1.1).
 *
 * @example
 * ```ts
 * import type { MlServerOperations } from '@ecg/sdk/v1.1';
 * type Accepted = MlServerOperations['processVideo']['responses'][200]['content']['application/json'];
 * ```
 */
export type MlServerOperations = MlServer.operations;

/**
 * The ML server's schemas (v1.1), a shortcut for `MlServerComponents['schemas']`.
 *
 * @example
 * ```ts
 * import type { MlServerSchemas } from '@ecg/sdk/v1.1';
 * type Callback = MlServerSchemas['MlCallback'];
 * ```
 */
export type MlServerSchemas = MlServer.components['schemas'];

/**
 * The canonical transcript (v1.1) the backend returns in a completed job's `result`.
 *
 * @example
 * ```ts
 * import type { TranscriptResult } from '@ecg/sdk/v1.1';
 * const words = (r: TranscriptResult) => r.segments.flatMap((s) => s.words.map((w) => w.word));
 * ```
 */
export type TranscriptResult = Backend.components['schemas']['TranscriptResult'];

/**
 * A job's status as the backend answers it (v1.1).
 *
 * @example
 * ```ts
 * import type { JobStatusResponse } from '@ecg/sdk/v1.1';
 * const done = (s: JobStatusResponse) => s.status === 'completed' || s.status === 'failed';
 * ```
 */
export type JobStatusResponse = Backend.components['schemas']['JobStatusResponse'];

/**
 * The body of an ML callback (v1.1; posted to `/api/upload-video/result`).
 *
 * @example
 * ```ts
 * import type { MlCallback } from '@ecg/sdk/v1.1';
 * const body: MlCallback = { job_id: 'j1', status: 'processing', progress: 40, message: 'Speaker identification' };
 * ```
 */
export type MlCallback = MlServer.components['schemas']['MlCallback'];

/**
 * The ML result as ML servers send it (v1.1).
 *
 * @example
 * ```ts
 * import type { MlResult } from '@ecg/sdk/v1.1';
 * const empty: MlResult = { segments: [] };
 * ```
 */
export type MlResult = MlServer.components['schemas']['MlResult'];
