/**
 * `@ecg/sdk/webhooks`: verifyWebhook against deliveries signed the way the backend signs them
 * (server/webhooks/delivery.ts: the `standardwebhooks` package, the same secret form), with Fetch and
 * Node headers, string and byte bodies; each way of failing has its own reason.
 */
import { randomBytes } from 'node:crypto';
import { Webhook } from 'standardwebhooks';
import { describe, expect, it } from 'vitest';
import { type JobFinishedEvent, verifyWebhook, WebhookVerificationError } from '../../sdk/src/webhooks.js';

const SECRET = `whsec_${randomBytes(32).toString('base64')}`;
const event: JobFinishedEvent = {
  type: 'job.completed',
  timestamp: '2026-01-01T00:00:00.000Z',
  data: {
    job_id: '550e8400-e29b-41d4-a716-446655440000', status: 'completed', progress: 100, message: 'Completed', error_code: null, error_message: null,
    status_url: '/api/upload-video/status/550e8400-e29b-41d4-a716-446655440000', created_at: '2026-01-01T00:00:00.000Z', finished_at: '2026-01-01T00:01:00.000Z',
  },
};

function delivery(body = JSON.stringify(event), at = new Date(), secret = SECRET, id = 'msg_0123') {
  return { body, headers: { 'webhook-id': id, 'webhook-timestamp': String(Math.floor(at.getTime() / 1000)), 'webhook-signature': new Webhook(secret).sign(id, at, body) } };
}

function reasonOf(fn: () => unknown): string {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(WebhookVerificationError);
    return (err as WebhookVerificationError).reason;
  }
  throw new Error('did not throw');
}

describe('verifyWebhook', () => {
  it('returns the typed event for a genuine delivery, with Node or Fetch headers and a string or byte body', () => {
    const d = delivery();
    expect(verifyWebhook(d.body, d.headers, SECRET)).toEqual(event);
    const upper = Object.fromEntries(Object.entries(d.headers).map(([k, v]) => [k.toUpperCase(), v]));
    expect(verifyWebhook(new TextEncoder().encode(d.body), upper, SECRET).data.job_id).toBe(event.data.job_id);
    expect(verifyWebhook(new TextEncoder().encode(d.body).buffer, new Headers(d.headers), SECRET).type).toBe('job.completed');
  });

  it('accepts any of several signatures (a rotated secret)', () => {
    const d = delivery();
    const other = new Webhook(`whsec_${randomBytes(32).toString('base64')}`).sign('msg_0123', new Date(Number(d.headers['webhook-timestamp']) * 1000), d.body);
    expect(verifyWebhook(d.body, { ...d.headers, 'webhook-signature': `${other} ${d.headers['webhook-signature']}` }, SECRET).type).toBe('job.completed');
  });

  it('refuses a wrong secret, a changed body or id, stale and future timestamps, missing headers and a body that is no event', () => {
    const d = delivery();
    expect(reasonOf(() => verifyWebhook(d.body, d.headers, `whsec_${randomBytes(32).toString('base64')}`))).toBe('bad_signature');
    expect(reasonOf(() => verifyWebhook(d.body.replace('completed', 'cancelled'), d.headers, SECRET))).toBe('bad_signature');
    expect(reasonOf(() => verifyWebhook(d.body, { ...d.headers, 'webhook-id': 'msg_other' }, SECRET))).toBe('bad_signature');
    expect(reasonOf(() => verifyWebhook(JSON.stringify(JSON.parse(d.body), null, 2), d.headers, SECRET))).toBe('bad_signature');
    const old = delivery(undefined, new Date(Date.now() - 10 * 60_000));
    expect(reasonOf(() => verifyWebhook(old.body, old.headers, SECRET))).toBe('stale_timestamp');
    const future = delivery(undefined, new Date(Date.now() + 10 * 60_000));
    expect(reasonOf(() => verifyWebhook(future.body, future.headers, SECRET))).toBe('stale_timestamp');
    for (const name of ['webhook-id', 'webhook-timestamp', 'webhook-signature']) {
      const { [name]: _gone, ...rest } = d.headers as Record<string, string>;
      expect(reasonOf(() => verifyWebhook(d.body, rest, SECRET)), name).toBe('missing_headers');
    }
    const notEvent = delivery('{"hello":1}');
    expect(reasonOf(() => verifyWebhook(notEvent.body, notEvent.headers, SECRET))).toBe('invalid_payload');
    const notJson = delivery('not json');
    expect(reasonOf(() => verifyWebhook(notJson.body, notJson.headers, SECRET))).toBe('invalid_payload');
  });

  it('gives a message that says what is wrong', () => {
    const d = delivery(undefined, new Date(Date.now() - 3600_000));
    expect(() => verifyWebhook(d.body, d.headers, SECRET)).toThrow(/more than 5 minutes/);
    expect(() => verifyWebhook(d.body, {}, SECRET)).toThrow(/webhook-id header is missing/);
  });
});
