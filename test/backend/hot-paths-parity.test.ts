/**
 * The lean request listener (server/http/hot-paths.ts) answers exactly as the Hono app does. Two
 * apps on the same database and configuration, each served over real HTTP: one with the lean path
 * in front of Hono, as production serves it, one with Hono alone. Each gets its own jobs in the same
 * states, then the same battery of requests (valid polls, 304s, unknown and malformed ids, missing and
 * wrong credentials, signed callbacks good and bad, replays, malformed JSON...). Status, body and
 * headers must be identical once job ids and times are named alike, and so must the request
 * metrics and the access and callback log lines.
 */
import { createHmac, randomUUID } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import type { ServerType } from '@hono/node-server';
import { eq, inArray, sql } from 'drizzle-orm';
import { Webhook } from 'standardwebhooks';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { jobs } from '../../drizzle/schema.js';
import { hmacSignature } from '../../server/http/callback-auth.js';
import { serveWithLimits } from '../../server/serve.js';
import { createTestApp, type TestApp } from '../support/app.js';

const SECRET = 'whsec_' + Buffer.from('a-parity-webhook-secret-32bytes!').toString('base64');
const RESULT = { text: 'hello there', segments: [{ start: 0, end: 1, text: 'hello there', speaker: 'SPEAKER_00', words: [{ word: 'hello', start: 0, end: 0.5 }, { word: 'there', start: 0.5, end: 1 }] }] };
/** Over 64 KiB: read into a pooled buffer (server/http/body-buffers.ts). */
const BIG_RESULT = {
  language: 'en',
  word_segments: Array.from({ length: 900 }, (_, i) => ({ word: `w${i}`, score: (i % 10) / 10 })),
  segments: Array.from({ length: 300 }, (_, i) => ({
    start_time: i,
    end_time: i + 1,
    speaker: { speaker_id: `SPEAKER_0${i % 2}` },
    text: ` line "${i}" \\ tab\there `,
    words: Array.from({ length: 3 }, (_, w) => ({ word: `w${i * 3 + w}`, start: i + w / 3, end: i + (w + 1) / 3, acoustic_features: { volume_db: -20, pitch_hz: 180 } })),
  })),
};
const NAMES = ['processing', 'completed', 'failed', 'pending', 'others', 'moving', 'tokened', 'hmac', 'unsigned'] as const;
type Name = (typeof NAMES)[number];

interface Side {
  t: TestApp;
  server: ServerType;
  base: string;
  logs: string[];
  jobs: Record<Name, string>;
  /** Each job's callback token. */
  tokens: Record<Name, string>;
  etags: Map<string, string>;
  tag: string;
}

/** What one battery entry sends, built per side (its own job ids, webhook ids and signatures). */
type Probe = (s: Side) => { path: string; method?: string; headers?: Record<string, string>; body?: string | Uint8Array<ArrayBuffer> };

function signedCallback(s: Side, body: unknown, opts: { id?: string; at?: Date; tamper?: boolean; raw?: string; type?: string } = {}) {
  const payload = opts.raw ?? JSON.stringify(body);
  const id = `msg_${s.tag}_${opts.id ?? randomUUID()}`;
  const at = opts.at ?? new Date();
  const signature = new Webhook(SECRET).sign(id, at, opts.tamper ? `${payload} ` : payload);
  return {
    path: '/api/upload-video/result',
    method: 'POST',
    headers: { 'content-type': opts.type ?? 'application/json', 'webhook-id': id, 'webhook-timestamp': String(Math.floor(at.getTime() / 1000)), 'webhook-signature': signature },
    body: payload,
  };
}

const progress = (job_id: string, p: number) => ({ job_id, status: 'processing', progress: p, message: 'Transcribing', result: null, error_message: null, error_code: null });

async function makeSide(env: Record<string, string>, lean: boolean, tag: string): Promise<Side> {
  const logs: string[] = [];
  const t = await createTestApp(env, undefined, { logLines: logs });
  const auth = env.API_TOKENS ? { Authorization: 'Bearer tok-a' } : undefined;
  const job = async (token?: string) => {
    const key = await t.upload(undefined, undefined, undefined, token);
    const { data } = await t.client.POST('/api/upload-video/request-process', { body: { fileKey: key }, ...(token ? { headers: { Authorization: `Bearer ${token}` } } : {}) });
    const [row] = await t.database.db.select().from(jobs).where(eq(jobs.id, data!.job_id));
    return { id: row!.id, token: row!.callbackToken };
  };
  const viaToken = (token: string, body: Record<string, unknown>) =>
    t.fetch(`http://backend.test/api/ml-callback/${token}/api/upload-video/result`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ progress: null, message: null, result: null, error_code: null, error_message: null, ...body }),
    });
  const token = auth ? 'tok-a' : undefined;
  const [p, c, f, q, o, m, k] = [await job(token), await job(token), await job(token), await job(token), await job(env.API_TOKENS ? 'tok-b' : undefined), await job(token), await job(token)];
  const [h, u] = [await job(token), await job(token)];
  for (const j of [p, c, f, m, k, h, u]) expect((await viaToken(j.token, { job_id: j.id, status: 'processing', progress: 5 })).status).toBe(200);
  // Sent a minute back: the estimate of time left, which needs a second of running, is there on both sides.
  await t.database.db.update(jobs).set({ dispatchedAt: sql`now() - interval '1 minute'` }).where(inArray(jobs.id, [p, c, f, m, k, h, u].map((j) => j.id)));
  expect((await viaToken(c.token, { job_id: c.id, status: 'completed', result: RESULT })).status).toBe(200);
  expect((await viaToken(f.token, { job_id: f.id, status: 'failed', error_code: 'GPU_OOM', error_message: 'out of memory' })).status).toBe(200);
  const server = await new Promise<ServerType>((resolve) => {
    const s: ServerType = serveWithLimits({ fetch: t.app.fetch, hotPaths: lean ? t.app.hotPaths : undefined, port: 0, hostname: '127.0.0.1', limits: t.config.http }, () => resolve(s));
  });
  await t.app.hotPaths.ready;
  const named = { processing: p, completed: c, failed: f, pending: q, others: o, moving: m, tokened: k, hmac: h, unsigned: u };
  const jobsByName = Object.fromEntries(NAMES.map((n) => [n, named[n].id])) as Record<Name, string>;
  const tokens = Object.fromEntries(NAMES.map((n) => [n, named[n].token])) as Record<Name, string>;
  return { t, server, base: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, logs, jobs: jobsByName, tokens, etags: new Map(), tag };
}

/** Job ids become their names, times become T, so both sides' answers can be compared. */
function normalise(s: Side, text: string): string {
  let out = text;
  for (const name of NAMES) out = out.replace(new RegExp(s.jobs[name], 'gi'), `<${name}>`);
  // Times, the stored file names made from them, and the estimate made from the time a job has run
  // (each side's jobs were sent a minute back, so both sides have one, of the same number of digits).
  return out
    .replace(/\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z/g, 'T')
    .replace(/\d{8}_\d{6}_[0-9a-f]{8}_/g, 'F_')
    .replace(/(\\?"estimated_time_remaining\\?":)\d+/g, '$1N');
}

const IGNORED_HEADERS = new Set(['date', 'connection', 'keep-alive']);

async function send(s: Side, probe: Probe, i: number) {
  const { path, method = 'GET', headers = {}, body } = probe(s);
  const res = await fetch(`${s.base}${path}`, { method, headers: { 'x-request-id': `parity-${i}`, ...headers }, ...(body !== undefined ? { body } : {}) });
  const text = await res.text();
  const etag = res.headers.get('etag');
  if (etag) s.etags.set(path, etag);
  const kept: Record<string, string> = {};
  res.headers.forEach((v, k) => {
    if (!IGNORED_HEADERS.has(k)) kept[k] = normalise(s, v);
  });
  // A request id the server made up differs by nature; that it made one up must not.
  if (!kept['x-request-id']?.startsWith('parity-')) kept['x-request-id'] = /^[0-9a-f-]{36}$/.test(kept['x-request-id'] ?? '') ? 'generated' : 'wrong';
  return { status: res.status, headers: kept, body: normalise(s, text) };
}

/** A callback to a job's per-job token URL (or to `token` instead). */
const viaToken = (name: Name, body: (s: Side) => unknown, opts: { legacy?: boolean; token?: string; raw?: string; type?: string } = {}): Probe => (s) => ({
  path: `/api/ml-callback/${opts.token ?? s.tokens[name]}${opts.legacy ? '/api/v1/ml/ml-results' : '/api/upload-video/result'}`,
  method: 'POST',
  headers: { 'content-type': opts.type ?? 'application/json' },
  body: opts.raw ?? JSON.stringify(body(s)),
});
const onLegacyPath = (probe: ReturnType<typeof signedCallback>) => ({ ...probe, path: '/api/v1/ml/ml-results' });

/** A progress callback whose message holds a byte that is not UTF-8 (Latin-1 "é"). */
const notUtf8 = (jobId: string, p: number) =>
  Buffer.concat([Buffer.from(`{"job_id":"${jobId}","status":"processing","progress":${p},"message":"caf`), Buffer.from([0xe9]), Buffer.from('","result":null,"error_message":null,"error_code":null}')]);

/** Bytes signed as they are, with a Standard Webhooks signature or an `X-Signature-256`. */
const signedBytes = (how: 'webhook' | 'hmac', bytes: (s: Side) => Buffer): Probe => (s) => {
  const bytesSent = bytes(s);
  const body = new Uint8Array(bytesSent);
  const headers: Record<string, string> = { 'content-type': 'application/json' };
  if (how === 'hmac') headers['x-signature-256'] = hmacSignature(SECRET, bytesSent);
  else {
    const id = `msg_${s.tag}_${randomUUID()}`;
    const at = String(Math.floor(Date.now() / 1000));
    const key = Buffer.from(SECRET.slice('whsec_'.length), 'base64');
    Object.assign(headers, { 'webhook-id': id, 'webhook-timestamp': at, 'webhook-signature': `v1,${createHmac('sha256', key).update(`${id}.${at}.`).update(bytesSent).digest('base64')}` });
  }
  return { path: '/api/upload-video/result', method: 'POST', headers, body };
};

/** A callback signed with `X-Signature-256` (or with `signature` instead, as given). */
const hmacSigned = (body: (s: Side) => unknown, opts: { legacy?: boolean; signature?: string } = {}): Probe => (s) => {
  const payload = JSON.stringify(body(s));
  return {
    path: opts.legacy ? '/api/v1/ml/ml-results' : '/api/upload-video/result',
    method: 'POST',
    headers: { 'content-type': 'application/json', 'x-signature-256': opts.signature ?? hmacSignature(SECRET, payload) },
    body: payload,
  };
};
/** A callback with no signature at all, which only a backend allowing unsigned callbacks takes. */
const unsigned = (body: (s: Side) => unknown, opts: { legacy?: boolean } = {}): Probe => (s) => ({
  path: opts.legacy ? '/api/v1/ml/ml-results' : '/api/upload-video/result',
  method: 'POST',
  headers: { 'content-type': 'application/json' },
  body: JSON.stringify(body(s)),
});

const statusPath = (s: Side, name: Name) => `/api/upload-video/status/${s.jobs[name]}`;
const get = (name: Name, headers: Record<string, string> = {}): Probe => (s) => ({ path: statusPath(s, name), headers: { Authorization: 'Bearer tok-a', ...headers } });

/** The battery: every entry goes to both sides in turn, in order. */
const BATTERY: Array<[string, Probe]> = [
  ['status 200, processing', get('processing')],
  ['status 200, completed with its result', get('completed')],
  ['status 200, failed with its error', get('failed')],
  ['status 200, pending', get('pending')],
  ['status 304, the ETag just seen', (s) => ({ ...get('processing')(s), headers: { Authorization: 'Bearer tok-a', 'If-None-Match': s.etags.get(statusPath(s, 'processing'))! } })],
  ['status 304, the ETag in a list', (s) => ({ ...get('completed')(s), headers: { Authorization: 'Bearer tok-a', 'If-None-Match': `W/"other", ${s.etags.get(statusPath(s, 'completed'))!}` } })],
  ['status 200, a stale ETag', get('processing', { 'If-None-Match': 'W/"stale-1"' })],
  ['status 200, an upper-case id', (s) => ({ path: statusPath(s, 'processing').toUpperCase().replace('/API/UPLOAD-VIDEO/STATUS/', '/api/upload-video/status/'), headers: { Authorization: 'Bearer tok-a' } })],
  ['status 404, unknown id', () => ({ path: '/api/upload-video/status/00000000-0000-4000-8000-000000000001', headers: { Authorization: 'Bearer tok-a' } })],
  ['status 422, bad id', () => ({ path: '/api/upload-video/status/not-a-uuid', headers: { Authorization: 'Bearer tok-a' } })],
  ['status 401, no credentials', (s) => ({ path: statusPath(s, 'processing') })],
  ['status 401, wrong token', get('processing', { Authorization: 'Bearer nope' })],
  ['status 401, not a bearer', get('processing', { Authorization: 'Basic dG9rLWE6' })],
  ['status 404, another owner\'s job', get('others')],
  ['status 422, If-None-Match too long', get('processing', { 'If-None-Match': 'x'.repeat(201) })],
  ['status, a generated request id', get('processing', { 'x-request-id': '' })],
  ['status, an unusable request id', get('processing', { 'x-request-id': 'not allowed!' })],
  ['status, an allowed origin', get('processing', { Origin: 'https://app.example' })],
  ['status, another origin', get('processing', { Origin: 'https://evil.example' })],
  ['status, a query string', (s) => ({ path: `${statusPath(s, 'processing')}?x=1`, headers: { Authorization: 'Bearer tok-a' } })],
  ['status, HEAD', (s) => ({ ...get('processing')(s), method: 'HEAD' })],
  ['callback, progress', (s) => signedCallback(s, progress(s.jobs.moving, 40), { id: 'one' })],
  ['status after the callback, old ETag', (s) => ({ ...get('moving')(s), headers: { Authorization: 'Bearer tok-a', 'If-None-Match': 'W/"x"' } })],
  ['callback, replayed webhook-id', (s) => signedCallback(s, progress(s.jobs.moving, 41), { id: 'one' })],
  ['callback, bad signature', (s) => signedCallback(s, progress(s.jobs.moving, 42), { tamper: true })],
  ['callback, no signature', (s) => ({ path: '/api/upload-video/result', method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(progress(s.jobs.moving, 43)) })],
  ['callback, too old', (s) => signedCallback(s, progress(s.jobs.moving, 44), { at: new Date(Date.now() - 3600_000) })],
  ['callback, malformed JSON', (s) => signedCallback(s, null, { raw: '{"job_id": "oops", ' })],
  ['callback, an invalid field', (s) => signedCallback(s, { ...progress(s.jobs.moving, 45), status: 'weird' })],
  ['callback, a missing field', (s) => signedCallback(s, { status: 'processing' })],
  ['callback, an unknown job', (s) => signedCallback(s, progress('00000000-0000-4000-8000-000000000000', 46))],
  ['callback, a job id that is no UUID', (s) => signedCallback(s, progress('job-1', 46))],
  ['callback, text/plain', (s) => signedCallback(s, progress(s.jobs.moving, 47), { type: 'text/plain' })],
  ['callback, application/json with charset', (s) => signedCallback(s, progress(s.jobs.moving, 48), { type: 'application/json; charset=utf-8' })],
  ['callback, X-Signature-256', (s) => {
    const body = JSON.stringify(progress(s.jobs.moving, 49));
    return { path: '/api/upload-video/result', method: 'POST', headers: { 'content-type': 'application/json', 'x-signature-256': hmacSignature(SECRET, body) }, body };
  }],
  ['callback, a webhook-id over 255 characters', (s) => signedCallback(s, progress(s.jobs.moving, 50), { id: 'x'.repeat(300) })],
  ['callback, completion with the result', (s) => signedCallback(s, { ...progress(s.jobs.moving, 100), status: 'completed', result: RESULT })],
  ['callback, progress after the end', (s) => signedCallback(s, progress(s.jobs.moving, 60))],
  ['callback, to a failed job', (s) => signedCallback(s, progress(s.jobs.failed, 60))],
  ['status 200 of the job just completed', get('moving')],
  ['status 304 of the job just completed', (s) => ({ ...get('moving')(s), headers: { Authorization: 'Bearer tok-a', 'If-None-Match': s.etags.get(statusPath(s, 'moving'))! } })],
  ['token, progress', viaToken('tokened', (s) => progress(s.jobs.tokened, 30))],
  ['token, progress on the legacy path', viaToken('tokened', (s) => progress(s.jobs.tokened, 35), { legacy: true })],
  ['token, about another job', viaToken('tokened', (s) => progress(s.jobs.processing, 36))],
  ['token, unknown', viaToken('tokened', (s) => progress(s.jobs.tokened, 37), { token: 'x'.repeat(32) })],
  ['token, malformed', viaToken('tokened', (s) => progress(s.jobs.tokened, 37), { token: 'short' })],
  ['token, malformed JSON', viaToken('tokened', () => null, { raw: '{"job_id": ' })],
  ['token, an invalid field', viaToken('tokened', (s) => ({ ...progress(s.jobs.tokened, 38), status: 'weird' }))],
  ['token, text/plain', viaToken('tokened', (s) => progress(s.jobs.tokened, 39), { type: 'text/plain' })],
  ['token, completion with a result over 64 KiB', viaToken('tokened', (s) => ({ ...progress(s.jobs.tokened, 100), status: 'completed', result: BIG_RESULT }))],
  ['token, progress after the end', viaToken('tokened', (s) => progress(s.jobs.tokened, 50))],
  ['status 200 of the job completed by token', get('tokened')],
  ['legacy path, signed progress', (s) => onLegacyPath(signedCallback(s, progress(s.jobs.processing, 20)))],
  ['legacy path, signed completion with a result over 64 KiB', (s) => onLegacyPath(signedCallback(s, { ...progress(s.jobs.processing, 100), status: 'completed', result: BIG_RESULT }))],
  ['legacy path, a bad signature', (s) => onLegacyPath(signedCallback(s, progress(s.jobs.processing, 20), { tamper: true }))],
  ['status 200 of the job completed on the legacy path', get('processing')],
  ['X-Signature-256, progress', hmacSigned((s) => progress(s.jobs.hmac, 10))],
  ['X-Signature-256, the same delivery again', hmacSigned((s) => progress(s.jobs.hmac, 10))],
  ['X-Signature-256, a signature of other bytes', hmacSigned((s) => progress(s.jobs.hmac, 11), { signature: hmacSignature(SECRET, 'other') })],
  ['X-Signature-256, upper-case hex', (s) => {
    const probe = hmacSigned((x) => progress(x.jobs.hmac, 12))(s);
    return { ...probe, headers: { ...probe.headers, 'x-signature-256': probe.headers!['x-signature-256']!.toUpperCase().replace('SHA256=', 'sha256=') } };
  }],
  ['X-Signature-256, malformed', hmacSigned((s) => progress(s.jobs.hmac, 13), { signature: 'sha256=nothex' })],
  ['X-Signature-256, with a Standard Webhooks signature too', (s) => {
    const probe = signedCallback(s, progress(s.jobs.hmac, 14));
    return { ...probe, headers: { ...probe.headers, 'x-signature-256': hmacSignature(SECRET, probe.body) } };
  }],
  ['Standard Webhooks, bytes that are not UTF-8, signed as sent', signedBytes('webhook', (s) => notUtf8(s.jobs.hmac, 16))],
  ['X-Signature-256, bytes that are not UTF-8, signed as sent', signedBytes('hmac', (s) => notUtf8(s.jobs.hmac, 17))],
  ['status 200 after bytes that are not UTF-8', get('hmac')],
  ['X-Signature-256, an invalid field', hmacSigned((s) => ({ ...progress(s.jobs.hmac, 15), status: 'weird' }))],
  ['X-Signature-256 on the legacy path, completion with a result over 64 KiB', hmacSigned((s) => ({ ...progress(s.jobs.hmac, 100), status: 'completed', result: BIG_RESULT }), { legacy: true })],
  ['status 200 of the job completed with X-Signature-256', get('hmac')],
  ['unsigned, progress', unsigned((s) => progress(s.jobs.unsigned, 10))],
  ['unsigned, malformed JSON', (s) => ({ ...unsigned(() => null)(s), body: '{"job_id": ' })],
  ['unsigned, completion with a result over 64 KiB', unsigned((s) => ({ ...progress(s.jobs.unsigned, 100), status: 'completed', result: BIG_RESULT }))],
  ['status 200 of the job completed unsigned', get('unsigned')],
];

/** The request-duration and callback counters, without the scrape itself. */
async function counters(s: Side): Promise<string[]> {
  const text = await (await fetch(`${s.base}/metrics`)).text();
  return text.split('\n').filter((l) => /^(ecg_http_request_duration_seconds_count|ecg_callbacks_total)\{/.test(l) && !l.includes('route="/metrics"')).sort();
}

/** The access and callback log lines, with what differs by nature (time, ms, ids) named alike. */
function logLines(s: Side): string[] {
  return s.logs
    .map((l) => JSON.parse(l) as Record<string, unknown>)
    .filter((l) => l.msg === 'request' || l.msg === 'callback' || l.level !== 'info')
    .map(({ time: _time, ms: _ms, ...rest }) => normalise(s, JSON.stringify({ ...rest, request_id: /^parity-/.test(String(rest.request_id)) ? rest.request_id : typeof rest.request_id })));
}

/** Each mode, with how many of the battery's requests the lean path answers in it (the rest go to Hono). */
for (const [mode, env, served] of [
  ['with API tokens and a CORS allow-list', { WEBHOOK_SECRET: SECRET, API_TOKENS: 'tok-a,tok-b', CORS_ORIGINS: 'https://app.example' }, 41],
  ['in open mode', { WEBHOOK_SECRET: SECRET }, 45],
  ['accepting unsigned callbacks', { WEBHOOK_SECRET: SECRET, ALLOW_UNSIGNED_CALLBACKS: 'true' }, 48],
] as const) {
  describe(`the lean path and Hono answer alike, ${mode}`, () => {
    let lean: Side;
    let hono: Side;
    beforeAll(async () => {
      lean = await makeSide(env, true, 'lean');
      hono = await makeSide(env, false, 'hono');
    });
    afterAll(async () => {
      for (const s of [lean, hono]) {
        await new Promise((resolve) => s.server.close(resolve));
        await s.t.close();
      }
    });

    it('the same status, body and headers for every request of the battery, then the same metrics and log lines', async () => {
      const mismatches: string[] = [];
      for (const [i, [name, probe]] of BATTERY.entries()) {
        const a = await send(lean, probe, i);
        const b = await send(hono, probe, i);
        try {
          expect(a).toEqual(b);
        } catch {
          mismatches.push(`${name}:\n  lean ${JSON.stringify(a)}\n  hono ${JSON.stringify(b)}`);
        }
      }
      expect(mismatches).toEqual([]);
      // The lean path answered the hot requests itself: the polls and the callbacks that passed their checks.
      expect(lean.t.app.hotPaths.served).toBeGreaterThanOrEqual(served);
      expect(hono.t.app.hotPaths.served).toBe(0);
      expect(await counters(lean)).toEqual(await counters(hono));
      expect(logLines(lean)).toEqual(logLines(hono));
    });
  });
}
