/**
 * For services that receive the backend's webhooks (the `jobFinished` event of a job created with a
 * `webhook_url`; docs/webhooks.md): checks the Standard Webhooks signature and timestamp over the raw
 * body and returns the typed event. Runs in Node and in browsers and edge runtimes (the
 * `standardwebhooks` package hashes in plain JavaScript; no `node:` module).
 *
 * @example
 * import { verifyWebhook, WebhookVerificationError } from '@ecg/sdk/webhooks';
 * // Node (express with express.raw({ type: 'application/json' })): the body as received, not re-serialised.
 * const event = verifyWebhook(req.body, req.headers, process.env.ECG_WEBHOOK_SECRET!);
 * if (seenBefore(req.headers['webhook-id'])) return res.sendStatus(200); // retries carry the same id
 * console.log(event.data.job_id, event.data.status);
 * @module
 */
import { Webhook, WebhookVerificationError as Unverified } from 'standardwebhooks';
import type { components } from './generated/v1.1/backend.js';

/** The body of a `jobFinished` webhook: `{ type, timestamp, data }`. */
export type JobFinishedEvent = components['schemas']['JobFinishedEvent'];
/** The job as it ended (no transcript: read it from `data.status_url`). */
export type JobFinishedEventData = components['schemas']['JobFinishedEventData'];

/** Why a delivery was refused. */
export type WebhookVerificationReason = 'missing_headers' | 'stale_timestamp' | 'bad_signature' | 'invalid_payload';

/** Thrown by {@link verifyWebhook}: answer the delivery with a 4xx and do not act on it. */
export class WebhookVerificationError extends Error {
  override name = 'WebhookVerificationError';
  constructor(
    readonly reason: WebhookVerificationReason,
    message: string,
  ) {
    super(message);
  }
}

/** Request headers as Fetch (`Headers`) or Node (`IncomingHttpHeaders`) give them. */
export type WebhookHeaders = Headers | Record<string, string | string[] | undefined>;

const NAMES = ['webhook-id', 'webhook-timestamp', 'webhook-signature'] as const;

function pick(headers: WebhookHeaders): Record<(typeof NAMES)[number], string> {
  const out: Record<string, string> = {};
  const get =
    typeof (headers as Headers).get === 'function'
      ? (n: string) => (headers as Headers).get(n) ?? undefined
      : (n: string) => {
          const key = Object.keys(headers).find((k) => k.toLowerCase() === n);
          const v = key === undefined ? undefined : (headers as Record<string, string | string[] | undefined>)[key];
          return Array.isArray(v) ? v.join(' ') : v;
        };
  for (const n of NAMES) {
    const v = get(n);
    if (!v) throw new WebhookVerificationError('missing_headers', `The ${n} header is missing: this is not a signed webhook delivery.`);
    out[n] = v;
  }
  return out;
}

/**
 * Verifies one delivery and returns its event. `body` must be the raw request body, byte for byte (a
 * string, or the bytes as `Uint8Array`/`ArrayBuffer`); `secret` is the backend's
 * `CONSUMER_WEBHOOK_SECRET` (`whsec_...`). A timestamp more than 5 minutes from this clock is refused.
 * Deduplicate by the `webhook-id` header: a retried delivery carries the same one.
 *
 * @throws {WebhookVerificationError} `missing_headers`, `stale_timestamp`, `bad_signature` or `invalid_payload`.
 */
export function verifyWebhook(body: string | Uint8Array | ArrayBuffer, headers: WebhookHeaders, secret: string): JobFinishedEvent {
  const text = typeof body === 'string' ? body : new TextDecoder().decode(body);
  const signed = pick(headers);
  let payload: unknown;
  try {
    payload = new Webhook(secret).verify(text, signed);
  } catch (err) {
    if (!(err instanceof Unverified)) {
      if (err instanceof SyntaxError) throw new WebhookVerificationError('invalid_payload', 'The signature is valid but the body is not JSON.');
      throw err;
    }
    if (/timestamp too (old|new)/i.test(err.message)) {
      throw new WebhookVerificationError('stale_timestamp', 'The webhook-timestamp is more than 5 minutes from this clock: an old delivery replayed, or a clock that is off.');
    }
    if (/Invalid Signature Headers/i.test(err.message)) throw new WebhookVerificationError('stale_timestamp', 'The webhook-timestamp is not a number of seconds.');
    throw new WebhookVerificationError('bad_signature', 'No signature matches: wrong secret, or a body that is not the one that was sent (verify the raw bytes, before any parsing).');
  }
  const event = payload as Partial<JobFinishedEvent> | undefined;
  if (!event || typeof event !== 'object' || typeof event.type !== 'string' || !event.data || typeof event.data.job_id !== 'string') {
    throw new WebhookVerificationError('invalid_payload', 'The body is not a job event ({ type, timestamp, data }).');
  }
  return event as JobFinishedEvent;
}
