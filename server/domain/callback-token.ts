/**
 * Per-job callback tokens (docs/callbacks.md): the backend hands the ML server a callback base that
 * embeds a random token, so callbacks from an ML server that cannot sign are still authentic.
 */
import { randomBytes } from 'node:crypto';

/** 24 random bytes, base64url: 32 characters no one can guess. */
export const newCallbackToken = (): string => randomBytes(24).toString('base64url');

/** Only strings shaped like a token are looked up at all. */
export const looksLikeCallbackToken = (value: string): boolean => /^[A-Za-z0-9_-]{16,128}$/.test(value);

/** The callback base the ML server is given for a job. */
export const callbackBase = (publicBaseUrl: string, token: string) => `${publicBaseUrl}/api/ml-callback/${token}`;
