/**
 * The source of `sdk/src/<version>.ts`: one types-only entry per spec version (`@ecg/sdk/v1.0`,
 * `@ecg/sdk/v1.1`), written by `npm run gen` so the versions cannot drift apart.
 */
export function versionEntry(version: string): string {
  return `/**
 * \`@ecg/sdk/${version}\`: the types generated from the ${version} contract, under clear names: the backend's
 * and the ML server's \`paths\`, \`components\` and \`operations\`, and the canonical result.
 * Types only: this entry has no runtime code.
 * @module
 */
import type * as Backend from './generated/${version}/backend.js';
import type * as MlServer from './generated/${version}/ml-server.js';

/**
 * The backend's paths (${version}), as openapi-typescript generated them; what openapi-fetch is typed by.
 *
 * @example
 * \`\`\`ts
 * import createClient from 'openapi-fetch';
 * import type { BackendPaths } from '@ecg/sdk/${version}';
 * const api = createClient<BackendPaths>({ baseUrl: 'https://ecg.example.com' });
 * \`\`\`
 */
export type BackendPaths = Backend.paths;

/**
 * The backend's components (${version}): \`schemas\`, \`responses\`, \`parameters\`, ...
 *
 * @example
 * \`\`\`ts
 * import type { BackendComponents } from '@ecg/sdk/${version}';
 * type ErrorEnvelope = BackendComponents['schemas']['Error'];
 * \`\`\`
 */
export type BackendComponents = Backend.components;

/**
 * The backend's operations by operationId (${version}).
 *
 * @example
 * \`\`\`ts
 * import type { BackendOperations } from '@ecg/sdk/${version}';
 * type StatusAnswer = BackendOperations['getJobStatus']['responses'][200]['content']['application/json'];
 * \`\`\`
 */
export type BackendOperations = Backend.operations;

/**
 * The backend's schemas (${version}), a shortcut for \`BackendComponents['schemas']\`.
 *
 * @example
 * \`\`\`ts
 * import type { BackendSchemas } from '@ecg/sdk/${version}';
 * type Status = BackendSchemas['JobStatusResponse'];
 * \`\`\`
 */
export type BackendSchemas = Backend.components['schemas'];

/**
 * The ML server's paths (${version}): \`process-video\`, \`status\`, \`health\`.
 *
 * @example
 * \`\`\`ts
 * import createClient from 'openapi-fetch';
 * import type { MlServerPaths } from '@ecg/sdk/${version}';
 * const ml = createClient<MlServerPaths>({ baseUrl: 'http://ml:8080' });
 * \`\`\`
 */
export type MlServerPaths = MlServer.paths;

/**
 * The ML server's components (${version}).
 *
 * @example
 * \`\`\`ts
 * import type { MlServerComponents } from '@ecg/sdk/${version}';
 * type Request = MlServerComponents['schemas']['ProcessVideoRequest'];
 * \`\`\`
 */
export type MlServerComponents = MlServer.components;

/**
 * The ML server's operations by operationId (${version}).
 *
 * @example
 * \`\`\`ts
 * import type { MlServerOperations } from '@ecg/sdk/${version}';
 * type Accepted = MlServerOperations['processVideo']['responses'][200]['content']['application/json'];
 * \`\`\`
 */
export type MlServerOperations = MlServer.operations;

/**
 * The ML server's schemas (${version}), a shortcut for \`MlServerComponents['schemas']\`.
 *
 * @example
 * \`\`\`ts
 * import type { MlServerSchemas } from '@ecg/sdk/${version}';
 * type Callback = MlServerSchemas['MlCallback'];
 * \`\`\`
 */
export type MlServerSchemas = MlServer.components['schemas'];

/**
 * The canonical transcript (${version}) the backend returns in a completed job's \`result\`.
 *
 * @example
 * \`\`\`ts
 * import type { TranscriptResult } from '@ecg/sdk/${version}';
 * const words = (r: TranscriptResult) => r.segments.flatMap((s) => s.words.map((w) => w.word));
 * \`\`\`
 */
export type TranscriptResult = Backend.components['schemas']['TranscriptResult'];

/**
 * A job's status as the backend answers it (${version}).
 *
 * @example
 * \`\`\`ts
 * import type { JobStatusResponse } from '@ecg/sdk/${version}';
 * const done = (s: JobStatusResponse) => s.status === 'completed' || s.status === 'failed';
 * \`\`\`
 */
export type JobStatusResponse = Backend.components['schemas']['JobStatusResponse'];

/**
 * The body of an ML callback (${version}; posted to \`${version === 'v1.0' ? '/api/v1/ml/ml-results' : '/api/upload-video/result'}\`).
 *
 * @example
 * \`\`\`ts
 * import type { MlCallback } from '@ecg/sdk/${version}';
 * const body: MlCallback = { job_id: 'j1', status: 'processing', progress: 40, message: 'Speaker identification' };
 * \`\`\`
 */
export type MlCallback = MlServer.components['schemas']['MlCallback'];

/**
 * The ML result as ML servers send it (${version}).
 *
 * @example
 * \`\`\`ts
 * import type { MlResult } from '@ecg/sdk/${version}';
 * const empty: MlResult = { segments: [] };
 * \`\`\`
 */
export type MlResult = MlServer.components['schemas']['MlResult'];
`;
}
