/**
 * The contract types this server speaks, per version, from the published SDK entry points
 * (`@ecg/sdk/v1.1`, `@ecg/sdk/v1.0`), never from the generated files directly.
 */
import type { MlServerSchemas as V10 } from '@ecg/sdk/v1.0';
import type { MlServerSchemas as V11 } from '@ecg/sdk/v1.1';

export type ProcessVideoResponseV11 = V11['ProcessVideoResponse'];
export type ProcessVideoResponseV10 = V10['ProcessVideoResponse'];
export type MlError = V11['MlError'];
export type MlValidationError = V11['MlValidationError'];
export type MlJobStatus = V11['MlJobStatus'];
export type MlHealth = V11['MlHealth'];
export type MlResultV11 = V11['MlResult'];
export type MlResultV10 = V10['MlResult'];
