/**
 * Idempotency keys (docs/auth.md): a key belongs to its caller, and to one request body.
 *
 * Jobs of signed-in users are keyed by their owner already. Anonymous jobs have no owner, so their
 * key is stored with the client's address in front (the address the rate limiter counts by):
 * another anonymous client sending the same `Idempotency-Key` gets a job of its own, never yours.
 * A fingerprint of what the request asks for is stored with the job; the same key with a different
 * request answers 409 CONFLICT (with `idempotency_key_reused: true`), as payment APIs do. Not a code
 * of its own: a new value of the response enum `ErrorCode` would break clients of the published
 * versions (docs/api-versions.md).
 */
import { createHash } from 'node:crypto';
import { ApiError } from '../errors.js';

/** The key as stored: the client's own for a signed-in owner, prefixed by the client address otherwise. */
export function scopedIdempotencyKey(key: string | null, owner: string | null, client: string): string | null {
  if (key === null) return null;
  return owner !== null ? key : `${client} ${key}`;
}

/** A stable hash of what a request asks for (field order and spelling of the body do not matter). */
export function requestFingerprint(request: { fileKey: string; language: string; webhookUrl?: string | null }): string {
  // A request without a webhook keeps the fingerprint it had before webhooks existed.
  const asked = request.webhookUrl ? [request.fileKey, request.language, request.webhookUrl] : [request.fileKey, request.language];
  return createHash('sha256').update(JSON.stringify(asked)).digest('hex');
}

/**
 * Throws CONFLICT when the job found under a key was made from another request.
 * Jobs stored before fingerprints existed (NULL) are taken as matching.
 */
export function checkSameRequest(stored: string | null, fingerprint: string): void {
  if (stored !== null && stored !== fingerprint) {
    throw new ApiError('CONFLICT', 'This Idempotency-Key was already used with a different request body; send a new key for a new request.', {
      idempotency_key_reused: true,
    });
  }
}
