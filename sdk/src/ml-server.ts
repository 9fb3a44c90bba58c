/**
 * `@ecg/sdk/ml-server`: what an ML server needs to work with the ECG backend: the types of
 * `process-video` (both contract versions) and a callback client that reports progress, results
 * and failures, signed (Standard Webhooks, see `docs/callbacks.md`) and retried.
 *
 * @example
 * ```ts
 * import { createCallbackClient, type ProcessVideoRequest } from '@ecg/sdk/ml-server';
 *
 * declare const req: ProcessVideoRequest;
 * const callbacks = createCallbackClient({ baseUrl: req.fastapi_base_url!, secret: process.env.WEBHOOK_SECRET });
 * await callbacks.progress(req.job_id, 10, 'Downloading the video');
 * ```
 * @module
 */
export type { CallbackClient, CallbackClientOptions, CallbackFetch } from './callbacks.js';
export { createCallbackClient } from './callbacks.js';
export type { ApiErrorBody, ApiErrorCode, SdkErrorCode } from './errors.js';
export { EcgApiError } from './errors.js';
export type {
  CallbackAck,
  CallbackBody,
  ContractVersion,
  MlCallbackBody,
  MlErrorBody,
  MlHealth,
  MlJobStatus,
  MlResult,
  MlResultMetadata,
  MlSegment,
  MlValidationErrorBody,
  MlWord,
  ProcessVideoRequest,
  ProcessVideoRequestV1_0,
  ProcessVideoResponse,
  ProcessVideoResponseV1_0,
} from './ml-server-types.js';
