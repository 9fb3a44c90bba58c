/**
 * Standard Webhooks signatures for callbacks, keyed as the backend reads `WEBHOOK_SECRET`
 * (`docs/callbacks.md`).
 * @internal
 * @module
 */
import { Webhook } from 'standardwebhooks';

/** @internal Signs one delivery attempt: the three `webhook-*` headers for a message id and body. */
export type CallbackSigner = (msgId: string, payload: string) => Record<'webhook-id' | 'webhook-timestamp' | 'webhook-signature', string>;

/**
 * @internal A signer for a secret: `whsec_<base64>` is a Standard Webhooks key, any other string
 * is the key's raw bytes (as the backend reads it).
 */
export function callbackSigner(secret: string): CallbackSigner {
  const webhook = secret.startsWith('whsec_') ? new Webhook(secret) : new Webhook(secret, { format: 'raw' });
  return (msgId, payload) => {
    // The timestamp and signature are fresh for every attempt; the id stays the same across them.
    const now = new Date();
    return {
      'webhook-id': msgId,
      'webhook-timestamp': String(Math.floor(now.getTime() / 1000)),
      'webhook-signature': webhook.sign(msgId, now, payload),
    };
  };
}
