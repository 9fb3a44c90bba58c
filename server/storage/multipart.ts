/**
 * Multipart rules shared by both drivers (docs/storage.md): how a declared size is cut into parts,
 * and what complete accepts. The declared size bounds both the part count and every part's length,
 * so a multipart upload needs no size policy: complete refuses any total but the declared one.
 */
import { ApiError } from '../errors.js';
import type { MultipartPlan, StoredPart } from './types.js';

/** S3's floor for every part but the last. */
export const MIN_PART_SIZE = 5 * 1024 ** 2;
/** S3's ceiling for one part. */
export const MAX_PART_SIZE = 5 * 1024 ** 3;
/** S3's ceiling for the part count. */
export const MAX_PARTS = 10_000;
/** Big enough to keep the request count low, small enough that a retried part costs little. */
export const DEFAULT_PART_SIZE = 16 * 1024 ** 2;

/** Cuts `size` bytes into parts of `requested` bytes (clamped to what S3 accepts). `size` must be positive. */
export function planMultipart(contentType: string, size: number, requested = DEFAULT_PART_SIZE): MultipartPlan {
  if (!Number.isSafeInteger(size) || size < 1) throw new RangeError(`planMultipart: size must be a positive integer, got ${size}`);
  const partSize = Math.min(MAX_PART_SIZE, Math.max(MIN_PART_SIZE, Math.ceil(size / MAX_PARTS), Math.floor(requested)));
  return { contentType, size, partSize, partCount: Math.ceil(size / partSize) };
}

/** The exact length of part `partNumber` (1-based). */
export function partLength(plan: MultipartPlan, partNumber: number): number {
  if (!Number.isInteger(partNumber) || partNumber < 1 || partNumber > plan.partCount) throw new RangeError(`No part ${partNumber} in this upload.`);
  return partNumber < plan.partCount ? plan.partSize : plan.size - plan.partSize * (plan.partCount - 1);
}

/** Refuses part numbers the plan does not have (`VALIDATION_ERROR`, with the offending ones). */
export function assertPartNumbers(plan: MultipartPlan, partNumbers: readonly number[]): void {
  const bad = partNumbers.filter((n) => !Number.isInteger(n) || n < 1 || n > plan.partCount);
  if (bad.length > 0) {
    throw new ApiError('VALIDATION_ERROR', `This upload has parts 1 to ${plan.partCount}.`, {
      details: bad.slice(0, 10).map((n) => ({ path: 'part_numbers', message: `no part ${n}` })),
    });
  }
}

/**
 * The parts to assemble, in order, once every one is stored with its exact length; otherwise
 * `CONFLICT` naming the missing parts, or `PAYLOAD_TOO_LARGE` when a part is longer than planned.
 */
export function checkCompletion(plan: MultipartPlan, stored: readonly StoredPart[]): StoredPart[] {
  const byNumber = new Map(stored.map((p) => [p.partNumber, p]));
  const parts: StoredPart[] = [];
  const missing: number[] = [];
  for (let n = 1; n <= plan.partCount; n += 1) {
    const part = byNumber.get(n);
    if (!part) {
      missing.push(n);
      continue;
    }
    const expected = partLength(plan, n);
    if (part.size > expected) {
      throw new ApiError('PAYLOAD_TOO_LARGE', `Part ${n} has ${part.size} bytes, more than the ${expected} planned.`, { max_bytes: plan.size });
    }
    if (part.size < expected) missing.push(n);
    parts.push(part);
  }
  if (missing.length > 0) {
    throw new ApiError('CONFLICT', `Parts not uploaded in full: ${missing.slice(0, 20).join(', ')}${missing.length > 20 ? ', ...' : ''}.`, {
      missing_parts: missing.slice(0, 1000),
    });
  }
  return parts;
}
