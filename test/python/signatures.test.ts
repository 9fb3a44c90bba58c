/**
 * Shared Standard Webhooks test vectors: the Python callback client (clients/python/ecg_callbacks.py)
 * signs exactly as the backend verifies (server/routes/callbacks.routes.ts) and as the SDK's
 * callback client signs, for `whsec_` and raw secrets alike.
 */
import { Webhook } from 'standardwebhooks';
import { describe, expect, it } from 'vitest';
import { type CallbackFetch, createCallbackClient } from '@ecg/sdk/ml-server';
import { webhookVerifier } from '../../server/http/callback-auth.js';
import { havePython, runDriver } from './python.js';

const ready = havePython();

const MSG_ID = 'msg_2KWPBgLlAfxdpx2AI54pPJ85f4W';
const TIMESTAMP = 1_700_000_000;
// Non-ASCII text, so the body's UTF-8 bytes are what is signed on both sides.
const BODY = JSON.stringify({ job_id: 'b276b1c2-5b50-40fa-ac7a-9cdef2781f5d', status: 'processing', progress: 40, message: '화자 식별 · Identifying speakers' });

const SECRETS: Array<[label: string, secret: string]> = [
  ['a whsec_ secret (base64 of 32 bytes, padded)', `whsec_${Buffer.from(Array.from({ length: 32 }, (_, i) => i * 7)).toString('base64')}`],
  ['a whsec_ secret without padding', 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw'],
  ['a whsec_ secret whose base64 ends in a lone character', 'whsec_c2VjcmV0X'],
  ['a raw ASCII secret', 'not base64, just a shared string: 0123456789'],
  ['a raw secret with non-ASCII characters', 'clé-비밀-🔑'],
];

const signInPython = (secret: string, msgId = MSG_ID, timestamp = TIMESTAMP, body = BODY) =>
  runDriver<{ signature: string; key_hex: string }>({ sign: { secret, msg_id: msgId, timestamp, body } });

describe.skipIf(!ready)('Standard Webhooks signatures, Python and TypeScript', () => {
  it.each(SECRETS)('gives the same signature as the backend for %s', async (_label, secret) => {
    const expected = webhookVerifier(secret).sign(MSG_ID, new Date(TIMESTAMP * 1000), BODY);
    const python = await signInPython(secret);
    expect(python.signature).toBe(expected);
    expect(python.signature).toMatch(/^v1,[A-Za-z0-9+/]{43}=$/);
  });

  it('derives from a whsec_ secret the key standardwebhooks decodes, and from a raw one its bytes', async () => {
    const whsec = SECRETS[0]![1];
    expect((await signInPython(whsec)).key_hex).toBe(Buffer.from(whsec.slice('whsec_'.length), 'base64').toString('hex'));
    expect((await signInPython('plain-secret')).key_hex).toBe(Buffer.from('plain-secret').toString('hex'));
  });

  it('produces signatures the backend accepts with a current timestamp', async () => {
    for (const [, secret] of SECRETS) {
      const now = Math.floor(Date.now() / 1000);
      const { signature } = await signInPython(secret, 'msg_now', now);
      expect(() => webhookVerifier(secret).verify(BODY, { 'webhook-id': 'msg_now', 'webhook-timestamp': String(now), 'webhook-signature': signature })).not.toThrow();
      // A different secret must not verify it.
      expect(() => new Webhook('whsec_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=').verify(BODY, { 'webhook-id': 'msg_now', 'webhook-timestamp': String(now), 'webhook-signature': signature })).toThrow();
    }
  });

  it.each(SECRETS)('matches what the SDK callback client sends for %s', async (_label, secret) => {
    const seen: Request[] = [];
    const fetch: CallbackFetch = (req) => {
      seen.push(req.clone());
      return Promise.resolve(Response.json({ status: 'received' }));
    };
    await createCallbackClient({ baseUrl: 'http://backend.test', secret, fetch }).progress('job-1', 40, '화자 식별');
    const req = seen[0]!;
    const id = req.headers.get('webhook-id')!;
    const timestamp = Number(req.headers.get('webhook-timestamp'));
    const { signature } = await signInPython(secret, id, timestamp, await req.text());
    expect(signature).toBe(req.headers.get('webhook-signature'));
  });

  it('refuses a whsec_ secret that is not base64, as the backend does', async () => {
    const bad = 'whsec_not*base64!';
    expect(() => webhookVerifier(bad)).toThrow();
    await expect(signInPython(bad)).rejects.toThrow(/not valid base64/);
  });
});
