/** The native Standard Webhooks check agrees with the `standardwebhooks` package on what is genuine. */
import { randomUUID } from 'node:crypto';
import { Webhook } from 'standardwebhooks';
import { describe, expect, it } from 'vitest';
import { standardWebhookCheck, webhookVerifier } from '../../server/http/callback-auth.js';

const SECRETS = ['whsec_' + Buffer.from('a-test-webhook-secret-32-bytes!!').toString('base64'), 'a plain shared secret, used as raw bytes'];
const body = JSON.stringify({ job_id: randomUUID(), status: 'processing', progress: 40, message: 'Transcribing… ✓' });

describe('the Standard Webhooks check', () => {
  it.each(SECRETS)('accepts what the package signs with %s, and whatever the package accepts', (secret) => {
    const check = standardWebhookCheck(secret);
    const id = `msg_${randomUUID()}`;
    const now = new Date();
    const signature = webhookVerifier(secret).sign(id, now, body);
    const ts = String(Math.floor(now.getTime() / 1000));
    expect(check(body, id, ts, signature)).toBe(true);
    // Several signatures, one of them right (a key rotation), as the specification allows.
    expect(check(body, id, ts, `v1,${Buffer.alloc(32).toString('base64')} ${signature}`)).toBe(true);
    expect(() => webhookVerifier(secret).verify(body, { 'webhook-id': id, 'webhook-timestamp': ts, 'webhook-signature': signature })).not.toThrow();
  });

  it('refuses another body, another id, another key, an unknown version and a timestamp outside five minutes', () => {
    const [secret, other] = SECRETS as [string, string];
    const check = standardWebhookCheck(secret);
    const id = `msg_${randomUUID()}`;
    const sign = (at: Date, key = secret) => new Webhook(key.startsWith('whsec_') ? key : Buffer.from(key).toString('base64')).sign(id, at, body);
    const now = new Date();
    const ts = (d: Date) => String(Math.floor(d.getTime() / 1000));
    expect(check(`${body} `, id, ts(now), sign(now))).toBe(false);
    expect(check(body, `${id}x`, ts(now), sign(now))).toBe(false);
    expect(check(body, id, ts(now), sign(now, other))).toBe(false);
    expect(check(body, id, ts(now), sign(now).replace(/^v1,/, 'v2,'))).toBe(false);
    for (const skew of [-6 * 60_000, 6 * 60_000]) {
      const at = new Date(now.getTime() + skew);
      expect(check(body, id, ts(at), sign(at))).toBe(false);
    }
    expect(check(body, id, 'not-a-time', sign(now))).toBe(false);
  });
});
