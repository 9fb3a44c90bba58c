/**
 * The types an ML server works with, both contract versions (see `docs/api-versions.md`):
 * `process-video` requests and answers, results, callback bodies and acknowledgements.
 * @module
 */
import type * as V10 from './generated/v1.0/ml-server.js';
import type * as V11 from './generated/v1.1/ml-server.js';

type S11 = V11.components['schemas'];
type S10 = V10.components['schemas'];

/**
 * The body of `POST /api/upload-video/process-video` (v1.1): `job_id`, `video_url`,
 * `fastapi_base_url`, `language` and the optional flags.
 *
 * @example
 * ```ts
 * import type { ProcessVideoRequest } from '@ecg/sdk/ml-server';
 * const accept = (req: ProcessVideoRequest) => ({ job: req.job_id, lang: req.language ?? 'auto', base: req.fastapi_base_url });
 * ```
 */
export type ProcessVideoRequest = S11['ProcessVideoRequest'];

/**
 * The v1.1 answer to `process-video` (`status: "processing"`, `status_url`).
 *
 * @example
 * ```ts
 * import type { ProcessVideoResponse } from '@ecg/sdk/ml-server';
 * const answer: ProcessVideoResponse = { job_id: 'j1', status: 'processing', message: 'Started', status_url: '/api/upload-video/status/j1' };
 * ```
 */
export type ProcessVideoResponse = S11['ProcessVideoResponse'];

/**
 * The body of `process-video` in v1.0: `{ job_id, video_url }`.
 *
 * @example
 * ```ts
 * import type { ProcessVideoRequestV1_0 } from '@ecg/sdk/ml-server';
 * const req: ProcessVideoRequestV1_0 = { job_id: 'j1', video_url: 'https://storage.example.com/v.mp4?sig=...' };
 * ```
 */
export type ProcessVideoRequestV1_0 = S10['ProcessVideoRequest'];

/**
 * The v1.0 answer to `process-video` (`status: "accepted"`).
 *
 * @example
 * ```ts
 * import type { ProcessVideoResponseV1_0 } from '@ecg/sdk/ml-server';
 * const answer: ProcessVideoResponseV1_0 = { job_id: 'j1', status: 'accepted' };
 * ```
 */
export type ProcessVideoResponseV1_0 = S10['ProcessVideoResponse'];

/**
 * The error body an ML server answers with: `{ error: { code, message, job_id } }`.
 *
 * @example
 * ```ts
 * import type { MlErrorBody } from '@ecg/sdk/ml-server';
 * const refuse: MlErrorBody = { error: { code: 'INVALID_REQUEST', message: 'video_url is required', job_id: null } };
 * ```
 */
export type MlErrorBody = S11['MlError'];

/**
 * FastAPI's validation answer (422): `{ detail: [...] }`.
 *
 * @example
 * ```ts
 * import type { MlValidationErrorBody } from '@ecg/sdk/ml-server';
 * const body: MlValidationErrorBody = { detail: [{ loc: ['body', 'language'], msg: 'Input should be a valid string' }] };
 * ```
 */
export type MlValidationErrorBody = S11['MlValidationError'];

/**
 * The ML server's `GET /health` answer.
 *
 * @example
 * ```ts
 * import type { MlHealth } from '@ecg/sdk/ml-server';
 * const health: MlHealth = { status: 'healthy' };
 * ```
 */
export type MlHealth = S11['MlHealth'];

/**
 * The ML server's optional `GET /api/upload-video/status/{job_id}` answer.
 *
 * @example
 * ```ts
 * import type { MlJobStatus } from '@ecg/sdk/ml-server';
 * const status: MlJobStatus = { job_id: 'j1', status: 'processing', progress: 40, message: 'Speaker identification' };
 * ```
 */
export type MlJobStatus = S11['MlJobStatus'];

/**
 * A transcription result as an ML server sends it (every known variant is accepted; the backend
 * normalises it to `TranscriptResult`).
 *
 * @example
 * ```ts
 * import type { MlResult } from '@ecg/sdk/ml-server';
 * const result: MlResult = {
 *   text: 'Hello there.', language: 'en', duration: 2.5,
 *   segments: [{ id: 0, start: 0, end: 2.5, text: 'Hello there.', speaker: 'SPEAKER_00',
 *     words: [{ word: 'Hello', start: 0, end: 0.8, confidence: 0.98, volume_db: -20.1, pitch_hz: 180 }] }],
 *   metadata: { model_version: 'whisperx-large-v3', processing_time: 12.3 },
 * };
 * ```
 */
export type MlResult = S11['MlResult'];

/**
 * One segment of an {@link MlResult}.
 *
 * @example
 * ```ts
 * import type { MlSegment } from '@ecg/sdk/ml-server';
 * const segment: MlSegment = { start: 0, end: 1.2, text: 'Hi', speaker: { speaker_id: 'SPEAKER_01' }, words: [] };
 * ```
 */
export type MlSegment = S11['MlSegment'];

/**
 * One word of an {@link MlSegment}.
 *
 * @example
 * ```ts
 * import type { MlWord } from '@ecg/sdk/ml-server';
 * const word: MlWord = { word: 'Hi', start: 0, end: 0.4, confidence: 0.9, acoustic_features: { volume_db: -18, pitch_hz: 210 } };
 * ```
 */
export type MlWord = S11['MlWord'];

/**
 * The `metadata` of an {@link MlResult}.
 *
 * @example
 * ```ts
 * import type { MlResultMetadata } from '@ecg/sdk/ml-server';
 * const metadata: MlResultMetadata = { filename: 'talk.mp4', model_version: 'whisperx-large-v3', processing_time: 42.1 };
 * ```
 */
export type MlResultMetadata = S11['MlResultMetadata'];

/**
 * A callback body as the contract describes it (keys may be missing or null).
 *
 * @example
 * ```ts
 * import type { MlCallbackBody } from '@ecg/sdk/ml-server';
 * const body: MlCallbackBody = { job_id: 'j1', status: 'processing', progress: 40 };
 * ```
 */
export type MlCallbackBody = S11['MlCallback'];

/**
 * The callback body this client sends: always all seven keys, `null` where a key does not apply
 * (as the real ML server does).
 *
 * @example
 * ```ts
 * import type { CallbackBody } from '@ecg/sdk/ml-server';
 * const body: CallbackBody = {
 *   job_id: 'j1', status: 'failed', progress: null, message: null, result: null,
 *   error_message: 'Could not download the video', error_code: 'DOWNLOAD_ERROR',
 * };
 * ```
 */
export type CallbackBody = Required<
  Pick<MlCallbackBody, 'job_id' | 'status' | 'progress' | 'message' | 'result' | 'error_message' | 'error_code'>
>;

/**
 * The backend's answer to a delivered callback: `received`, or `ignored` with a `reason` (job already
 * finished, cancelled, or the same `webhook-id` delivered before).
 *
 * @example
 * ```ts
 * import type { CallbackAck } from '@ecg/sdk/ml-server';
 * const log = (ack: CallbackAck) => (ack.status === 'ignored' ? console.warn('ignored:', ack.reason) : undefined);
 * ```
 */
export type CallbackAck = S11['CallbackAck'];

/**
 * The contract versions: `v1.1` posts callbacks to `/api/upload-video/result`, `v1.0` to `/api/v1/ml/ml-results`.
 *
 * @example
 * ```ts
 * import type { ContractVersion } from '@ecg/sdk/ml-server';
 * const version: ContractVersion = process.env.ECG_API_VERSION === 'v1.0' ? 'v1.0' : 'v1.1';
 * ```
 */
export type ContractVersion = 'v1.0' | 'v1.1';
