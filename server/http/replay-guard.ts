/**
 * Replays of `X-Signature-256` callbacks (docs/callbacks.md). The legacy HMAC signs only the body,
 * with no timestamp or id, so a captured callback stays valid forever. Its signature is remembered
 * like a Standard Webhooks `webhook-id`: in `webhook_deliveries`, in the same transaction as the
 * callback, for as long as ids are kept (ten minutes). A repeat inside that window is answered
 * `ignored` and changes nothing, so a replayed progress callback no longer resets the watchdog.
 * The price: an ML server that sends byte-identical callbacks on purpose (the same progress twice)
 * has the repeat ignored too, which changes nothing either.
 */
import { createHash } from 'node:crypto';

/** The delivery id a verified `X-Signature-256` is remembered under; never equal to a `webhook-id` of the ML server's. */
export function hmacDeliveryId(signature: string): string {
  return `x-signature-256:${createHash('sha256').update(signature.trim().toLowerCase()).digest('hex')}`;
}
