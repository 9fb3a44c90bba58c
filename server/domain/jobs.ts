/**
 * The rules around jobs that are not HTTP: which file may be processed, who may see or cancel a job,
 * and what a callback is answered. Handlers map a request to one of these calls and the result back
 * to a response; every change to a job goes through the store (server/jobs/store.ts).
 */
import { randomUUID } from 'node:crypto';
import type { EventAuth } from '../../drizzle/schema.js';
import type { Config } from '../config.js';
import { ApiError } from '../errors.js';
import type { JobStatus, MlCallback } from '../generated/v1.1/routes.js';
import { authEnabled, sameOwner } from '../http/auth.js';
import type { ScannedResult } from '../jobs/callback-body.js';
import type { JobStore } from '../jobs/store.js';
import { isSafeKey } from '../storage/keys.js';
import { isMediaType } from '../storage/media.js';
import type { ObjectInfo, Storage } from '../storage/types.js';
import { vetWebhookUrl, WebhookUrlError } from '../webhooks/address-policy.js';
import { newCallbackToken } from './callback-token.js';
import { checkSameRequest, requestFingerprint, scopedIdempotencyKey } from './idempotency.js';
import { isOwnersKey } from './uploads.js';

export interface JobRules {
  config: Pick<Config, 'auth' | 'storage'> & Partial<Pick<Config, 'consumerWebhooks'>>;
  storage: Storage;
  jobs: JobStore;
}

const noFile = () => new ApiError('FILE_NOT_FOUND', 'No uploaded file with this key.');
const noJob = (id: string) => new ApiError('JOB_NOT_FOUND', `No job with id ${id}.`);

/** The file a job is asked for: a key, or a URL of this service's own storage. */
export type JobSource = { fileKey: string } | { videoUrl: string } | Record<string, never>;

/**
 * The stored file behind a request, if the caller may process it. A `video_url` must point into this
 * service's own storage: the ML server downloads whatever URL it is given, so anything else would be
 * a server-side request forgery. With authentication on, only keys in the caller's own upload folder
 * count. The file must exist, be no larger than the upload limit and be video or audio (docs/limits.md).
 */
export async function processableFile(rules: JobRules, owner: string | null, source: JobSource): Promise<{ key: string; info: ObjectInfo }> {
  let key: string | undefined;
  if ('fileKey' in source) key = source.fileKey;
  else if ('videoUrl' in source) {
    key = rules.storage.keyFromUrl(source.videoUrl) ?? undefined;
    if (key === undefined) {
      throw new ApiError('VALIDATION_ERROR', 'video_url must point into this service\'s own storage.', {
        details: [{ path: 'video_url', message: 'not a URL of this service\'s storage' }],
      });
    }
  }
  if (key === undefined || !isSafeKey(key)) throw noFile();
  if (authEnabled(rules.config.auth) && !isOwnersKey(owner, key)) throw noFile();
  const info = await rules.storage.head(key);
  if (!info) throw noFile();
  const max = rules.config.storage.maxUploadBytes;
  if (info.size > max) throw new ApiError('PAYLOAD_TOO_LARGE', `The file is larger than ${max} bytes.`);
  if (info.size === 0) throw new ApiError('EMPTY_FILE', 'The uploaded file is empty.');
  if (info.contentType !== undefined && !isMediaType(info.contentType)) {
    throw new ApiError('UNSUPPORTED_MEDIA_TYPE', 'Only video and audio files can be processed.');
  }
  return { key, info };
}

/**
 * Stores a new pending job for a processable file, or returns the earlier one for a repeated
 * idempotency key of the same caller and the same request (server/domain/idempotency.ts).
 * `client` is the caller's rate-limit key, which scopes anonymous idempotency keys.
 */
export async function requestProcessing(
  rules: JobRules,
  request: { owner: string | null; client: string; source: JobSource; language: string; idempotencyKey: string | null; webhookUrl?: string | undefined },
): Promise<{ row: { id: string; status: JobStatus }; created: boolean; size: number }> {
  const webhookUrl = request.webhookUrl === undefined ? null : await acceptedWebhookUrl(rules, request.webhookUrl);
  const { key, info } = await processableFile(rules, request.owner, request.source);
  const fingerprint = requestFingerprint({ fileKey: key, language: request.language, webhookUrl });
  const { created, requestHash, ...row } = await rules.jobs.create({
    id: randomUUID(),
    fileKey: key,
    fileSize: info.size,
    contentType: info.contentType ?? null,
    language: request.language,
    owner: request.owner,
    idempotencyKey: scopedIdempotencyKey(request.idempotencyKey, request.owner, request.client),
    requestHash: request.idempotencyKey === null ? null : fingerprint,
    callbackToken: newCallbackToken(),
    webhookUrl,
  });
  if (!created) checkSameRequest(requestHash, fingerprint);
  return { row, created, size: info.size };
}

/**
 * A `webhook_url` the backend will deliver to (docs/webhooks.md): refused (422, naming the field)
 * when no consumer-webhook secret is configured, and when it is not an http(s) URL of a public
 * address (unless WEBHOOK_ALLOW_PRIVATE).
 */
async function acceptedWebhookUrl(rules: JobRules, raw: string): Promise<string> {
  const settings = rules.config.consumerWebhooks;
  const refuse = (message: string) =>
    new ApiError('VALIDATION_ERROR', `webhook_url ${message}.`, { details: [{ path: 'webhook_url', message }] });
  if (!settings?.secret) throw refuse('cannot be used: this backend has no CONSUMER_WEBHOOK_SECRET to sign webhooks with');
  try {
    return await vetWebhookUrl(raw, { allowPrivate: settings.allowPrivate });
  } catch (err) {
    if (err instanceof WebhookUrlError) throw refuse(err.message);
    throw err;
  }
}

/** A job the caller may see: with authentication on, only their own; anyone else's is JOB_NOT_FOUND, as if it did not exist. */
export async function ownedJob<R extends { owner: string | null }>(
  rules: Pick<JobRules, 'config'>,
  owner: string | null,
  id: string,
  read: (id: string) => Promise<R | undefined>,
): Promise<R> {
  const row = await read(id);
  if (!row || (authEnabled(rules.config.auth) && !sameOwner(row.owner, owner))) throw noJob(id);
  return row;
}

/** Cancels a pending or processing job; a cancelled job stays cancelled; a finished one is JOB_NOT_CANCELLABLE. */
export async function cancelJob(rules: JobRules, owner: string | null, id: string): Promise<{ jobId: string }> {
  const head = await ownedJob(rules, owner, id, (jobId) => rules.jobs.getVersion(jobId));
  const { decision } = await rules.jobs.transition(head.id, { type: 'cancel' });
  if (!decision) throw noJob(id);
  if (decision.outcome === 'refuse') throw new ApiError(decision.code, decision.reason);
  return { jobId: head.id };
}

/** Who asks to delete a job: an owner (`null` in open mode), or the administrator, who may delete any job. */
export type Deleter = { admin: true } | { admin: false; owner: string | null };

/**
 * Deletes a job, its events and result, then its video (docs/my-jobs.md). A job the ML server may be
 * working on is refused with 409 CONFLICT, unless `cancel`: then it is cancelled through the
 * lifecycle first. Answers the same (nothing thrown) for a job already gone or not the caller's,
 * which is left alone. The video stays while another job with a stored video names the same file;
 * a failed storage delete is left to the upload sweeper, which deletes files no job needs.
 */
export async function deleteJob(rules: JobRules, who: Deleter, id: string, opts: { cancel: boolean; onStorageError?: (err: unknown) => void }): Promise<{ deleted: boolean }> {
  const head = await rules.jobs.getVersion(id);
  if (!head || (!who.admin && authEnabled(rules.config.auth) && !sameOwner(head.owner, who.owner))) return { deleted: false };
  // A cancel can race a dispatch (the job becomes processing between the two steps): cancel again then.
  for (let attempt = 0; attempt < 3; attempt += 1) {
    const removed = await rules.jobs.remove(head.id);
    if (removed.deleted) {
      if (!removed.shared) await rules.storage.delete(removed.fileKey).catch((err: unknown) => opts.onStorageError?.(err));
      return { deleted: true };
    }
    if (!removed.busy) return { deleted: false };
    if (!opts.cancel) {
      throw new ApiError('CONFLICT', 'The ML server is still working on this job; cancel it first, or delete with cancel=true.');
    }
    const { decision } = await rules.jobs.transition(head.id, { type: 'cancel' });
    if (decision?.outcome === 'refuse') throw new ApiError(decision.code, decision.reason);
  }
  throw new ApiError('CONFLICT', 'The job kept changing while it was being deleted; try again.');
}

export type CallbackAck = { status: 'received' | 'ignored'; job_id: string; reason?: string };

/**
 * Applies an authenticated callback and says what became of it: `received`, or `ignored` with the
 * reason (the ML server is always answered 200 for a job it may report on; docs/callbacks.md).
 * A callback that came through a per-job token must be about that token's job.
 */
export async function receiveCallback(
  rules: Pick<JobRules, 'jobs'>,
  body: MlCallback,
  auth: { via: Exclude<EventAuth, 'backend'>; tokenJobId?: string | undefined; webhookId?: string | undefined },
  scannedResult?: ScannedResult,
): Promise<CallbackAck> {
  if (auth.tokenJobId !== undefined && auth.tokenJobId !== body.job_id) throw new ApiError('UNAUTHORIZED', 'The callback token does not belong to this job.');
  const { job, decision } = await rules.jobs.callback(body, auth.via, auth.webhookId, scannedResult);
  if (!job) throw noJob(body.job_id);
  if (decision.outcome === 'apply') return { status: 'received', job_id: job.id };
  return { status: 'ignored', job_id: job.id, reason: decision.outcome === 'ignore' ? decision.reason : 'refused' };
}
