/**
 * Every documented response of every operation, exercised once on purpose, so the contract is
 * covered. Each case names the operation and the status it must produce; the contract check
 * in test/support/app.ts validates the answer against the spec, and the coverage reporter
 * (test/contract/coverage.ts) counts it. Statuses no test can produce are in its EXCEPTIONS list;
 * this file checks that the two lists together cover every documented response of both versions.
 *
 * Faults: an app whose database pool was closed answers 500 (and /health 503), the way it would
 * during a database outage.
 */
import { sign } from 'hono/jwt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestApp, PUBLIC_BASE, type TestApp } from '../support/app.js';
import { contractOperations } from '../support/contract.js';
import { invalidRequest } from '../support/contract.js';
import { EXCEPTIONS } from './coverage.js';
import { ADMIN_TOKEN, callback, closeQuietly, type Job,JWT_SECRET, newJob, post, unknownId, WEBHOOK_SECRET } from './helpers.js';

let open: TestApp; // unsigned callbacks allowed, admin token set, no rate limit
let strict: TestApp; // JWT auth on, signed callbacks only, no admin token
let limited: TestApp; // one request-process a minute
let uploadLimited: TestApp; // one upload URL an hour
let streamCapped: TestApp; // one event stream per client
let broken: TestApp; // its database pool is closed
let brokenStrict: TestApp; // JWT auth on, its database pool closed
let brokenJob: Job;
let brokenKey: string;

beforeAll(async () => {
  [open, strict, limited, uploadLimited, streamCapped, broken, brokenStrict] = await Promise.all([
    // A database of its own: no other file's dispatcher moves these jobs (ETags, 'pending' stay put).
    createTestApp({ ALLOW_UNSIGNED_CALLBACKS: 'true', ADMIN_TOKEN, RATE_LIMIT_PER_MINUTE: '0' }, undefined, { isolatedDatabase: true }),
    createTestApp({ JWT_SECRET, WEBHOOK_SECRET }),
    createTestApp({ RATE_LIMIT_PER_MINUTE: '1' }),
    createTestApp({ UPLOAD_URLS_PER_HOUR: '1' }),
    createTestApp({ SSE_MAX_STREAMS_PER_CLIENT: '1' }),
    createTestApp({ ALLOW_UNSIGNED_CALLBACKS: 'true', ADMIN_TOKEN, RATE_LIMIT_PER_MINUTE: '0' }),
    createTestApp({ JWT_SECRET }),
  ]);
  userToken = await sign({ sub: `contract-${unknownId()}`, exp: Math.floor(Date.now() / 1000) + 3600 }, JWT_SECRET, 'HS256');
  await brokenStrict.database.close();
  brokenJob = await newJob(broken);
  brokenKey = await broken.upload();
  await broken.database.close();
});
afterAll(async () => {
  await Promise.all([open?.close(), strict?.close(), limited?.close(), uploadLimited?.close(), streamCapped?.close(), broken && closeQuietly(broken), brokenStrict && closeQuietly(brokenStrict)]);
});

const url = (path: string) => `${PUBLIC_BASE}${path}`;
const bad = invalidRequest('coverage case: deliberately invalid');
const get = (t: TestApp, path: string, headers: Record<string, string> = {}) => t.fetch(url(path), { headers });
const postBad = (t: TestApp, path: string, body: string, type = 'application/json') => post(t, path, body, { ...bad, 'content-type': type });
const admin = { Authorization: `Bearer ${ADMIN_TOKEN}` };
let userToken = '';
const user = () => ({ Authorization: `Bearer ${userToken}` });
const del = (t: TestApp, path: string, headers: Record<string, string> = {}) => t.fetch(url(path), { method: 'DELETE', headers });
const HUGE_JSON = 1024 * 1024 + 100;
const HUGE_CALLBACK = 50 * 1024 * 1024 + 100;

type Case = [operationId: string, status: number, run: () => Promise<Response>];

const status = (id: string) => `/api/upload-video/status/${id}`;
const cancel = (id: string) => `/api/upload-video/cancel/${id}`;
const video = (id: string) => `/api/upload-video/video/${id}`;

const CALLBACK_ROUTES: Array<[string, (job: Job) => string]> = [
  ['receiveMlResult', () => '/api/upload-video/result'],
  ['receiveLegacyMlResult', () => '/api/v1/ml/ml-results'],
  ['receiveMlResultWithToken', (job) => `/api/ml-callback/${job.token}/api/upload-video/result`],
  ['receiveLegacyMlResultWithToken', (job) => `/api/ml-callback/${job.token}/api/v1/ml/ml-results`],
];

function callbackCases(): Case[] {
  const cases: Case[] = [];
  for (const [op, path] of CALLBACK_ROUTES) {
    const token = op.endsWith('WithToken');
    cases.push(
      [op, 200, async () => { const job = await newJob(open); return post(open, path(job), callback(job.id, { progress: 20 })); }],
      [op, 400, async () => postBad(open, path(await newJob(open)), '{"job_id": ')],
      [op, 401, async () =>
        token
          ? post(open, path({ id: '', key: '', token: 'no-such-token-0123456789' }), callback(unknownId(), { progress: 5 }))
          : post(strict, path({ id: '', key: '', token: '' }), callback(unknownId(), { progress: 5 })), // unsigned, where signatures are required
      ],
      [op, 413, async () => { const job = await newJob(open); return post(open, path(job), JSON.stringify(callback(job.id, { message: 'x'.repeat(HUGE_CALLBACK) }))); }],
      [op, 415, async () => postBad(open, path(await newJob(open)), '{"job_id":"x","status":"processing"}', 'text/plain')],
      [op, 422, async () => postBad(open, path(await newJob(open)), '{}')],
      [op, 500, async () => post(broken, path(brokenJob), callback(brokenJob.id, { progress: 10 }))],
    );
    if (!token) cases.push([op, 404, async () => post(open, path({ id: '', key: '', token: '' }), callback(unknownId(), { progress: 1 }))]);
  }
  return cases;
}

const MP = '/api/upload-video/multipart';
/** A fresh multipart upload of a 10-byte file on the open app: one part, none sent yet. */
async function startMultipart(): Promise<{ file_key: string; upload_id: string }> {
  const res = await post(open, `${MP}/create`, { filename: 'clip.mp4', content_type: 'video/mp4', file_size: 10 });
  return (await res.json()) as { file_key: string; upload_id: string };
}
const noUpload = () => ({ file_key: `videos/anonymous/${unknownId()}.mp4`, upload_id: 'a'.repeat(24) });

function multipartCases(): Case[] {
  const cases: Case[] = [
    ['createMultipartUpload', 200, () => post(open, `${MP}/create`, { filename: 'clip.mp4', content_type: 'video/mp4', file_size: 100 * 1024 ** 2 })],
    ['createMultipartUpload', 400, () => postBad(open, `${MP}/create`, '{"filename": ')],
    ['createMultipartUpload', 401, () => post(strict, `${MP}/create`, { filename: 'clip.mp4', file_size: 10 })],
    ['createMultipartUpload', 413, () => post(open, `${MP}/create`, { filename: 'big.mp4', file_size: 3 * 1024 ** 3 })],
    ['createMultipartUpload', 415, () => post(open, `${MP}/create`, { filename: 'page.html', content_type: 'text/html', file_size: 10 })],
    ['createMultipartUpload', 422, () => postBad(open, `${MP}/create`, '{"filename": "clip.mp4", "file_size": 0}')],
    ['presignUploadParts', 200, async () => post(open, `${MP}/presign-parts`, { ...(await startMultipart()), part_numbers: [1] })],
    ['listUploadedParts', 200, async () => post(open, `${MP}/list-parts`, await startMultipart())],
    ['completeMultipartUpload', 200, async () => {
      const up = await startMultipart();
      const parts = (await (await post(open, `${MP}/presign-parts`, { ...up, part_numbers: [1] })).json()) as { parts: Array<{ url: string }> };
      const put = await open.fetch(parts.parts[0]!.url, { method: 'PUT', body: new Uint8Array(10).fill(1) });
      expect(put.status).toBe(200);
      return post(open, `${MP}/complete`, up);
    }],
    ['completeMultipartUpload', 409, async () => post(open, `${MP}/complete`, await startMultipart())],
    ['abortMultipartUpload', 200, async () => post(open, `${MP}/abort`, await startMultipart())],
  ];
  for (const [op, path] of [['presignUploadParts', 'presign-parts'], ['listUploadedParts', 'list-parts'], ['completeMultipartUpload', 'complete'], ['abortMultipartUpload', 'abort']] as const) {
    const body = op === 'presignUploadParts' ? { ...noUpload(), part_numbers: [1] } : noUpload();
    cases.push(
      [op, 400, () => postBad(open, `${MP}/${path}`, '{"file_key": ')],
      [op, 401, () => post(strict, `${MP}/${path}`, body)],
      [op, 404, () => post(open, `${MP}/${path}`, body)],
      [op, 415, () => postBad(open, `${MP}/${path}`, JSON.stringify(body), 'text/plain')],
      [op, 422, () => postBad(open, `${MP}/${path}`, '{"file_key": ""}')],
    );
  }
  return cases;
}

const CASES: Case[] = [
  ['generateUploadUrl', 200, () => post(open, '/api/upload-video/generate-url', { filename: 'clip.mp4', content_type: 'video/mp4' })],
  ['generateUploadUrl', 400, () => postBad(open, '/api/upload-video/generate-url', '{"filename": ')],
  ['generateUploadUrl', 401, () => post(strict, '/api/upload-video/generate-url', { filename: 'clip.mp4' })],
  ['generateUploadUrl', 413, () => post(open, '/api/upload-video/generate-url', { filename: 'big.mp4', file_size: 3 * 1024 ** 3 })],
  ['generateUploadUrl', 415, () => post(open, '/api/upload-video/generate-url', { filename: 'page.html', content_type: 'text/html' })],
  ['generateUploadUrl', 422, () => postBad(open, '/api/upload-video/generate-url', '{}')],
  ['generateUploadUrl', 429, async () => {
    const body = { filename: 'clip.mp4', content_type: 'video/mp4' };
    expect((await post(uploadLimited, '/api/upload-video/generate-url', body)).status).toBe(200);
    return post(uploadLimited, '/api/upload-video/generate-url', body);
  }],

  ['requestProcess', 200, async () => post(open, '/api/upload-video/request-process', { fileKey: await open.upload() })],
  ['requestProcess', 400, () => postBad(open, '/api/upload-video/request-process', '{"fileKey": ')],
  ['requestProcess', 401, () => post(strict, '/api/upload-video/request-process', { fileKey: 'videos/anonymous/x.mp4' })],
  ['requestProcess', 404, () => post(open, '/api/upload-video/request-process', { fileKey: `videos/anonymous/${unknownId()}.mp4` })],
  // Over the body limit, but valid JSON the schema allows (the limits are not schema keywords): not marked invalid.
  ['requestProcess', 413, async () => post(open, '/api/upload-video/request-process', JSON.stringify({ fileKey: await open.upload(), pad: 'x'.repeat(HUGE_JSON) }))],
  ['requestProcess', 409, async () => {
    const key = `reused-${unknownId()}`;
    const first = await post(open, '/api/upload-video/request-process', { fileKey: await open.upload() }, { 'Idempotency-Key': key });
    expect(first.status).toBe(200);
    return post(open, '/api/upload-video/request-process', { fileKey: await open.upload() }, { 'Idempotency-Key': key });
  }],
  ['requestProcess', 415, () => postBad(open, '/api/upload-video/request-process', '{"fileKey":"videos/anonymous/x.mp4"}', 'text/plain')],
  ['requestProcess', 422, () => postBad(open, '/api/upload-video/request-process', '{"language": "en"}')],
  // Only a request that creates a job uses up the limit: the refused one before it does not.
  ['requestProcess', 429, async () => {
    const refused = await post(limited, '/api/upload-video/request-process', { fileKey: `videos/anonymous/${unknownId()}.mp4` });
    expect(refused.status).toBe(404);
    const first = await post(limited, '/api/upload-video/request-process', { fileKey: await limited.upload() });
    expect(first.status).toBe(200);
    return post(limited, '/api/upload-video/request-process', { fileKey: await limited.upload() });
  }],
  ['requestProcess', 500, () => post(broken, '/api/upload-video/request-process', { fileKey: brokenKey })],

  ['getJobStatus', 200, async () => get(open, status((await newJob(open)).id))],
  ['getJobStatus', 304, async () => {
    const { id } = await newJob(open);
    const first = await get(open, status(id));
    return get(open, status(id), { 'If-None-Match': first.headers.get('etag') ?? '' });
  }],
  ['getJobStatus', 401, () => get(strict, status(unknownId()))],
  ['getJobStatus', 404, () => get(open, status(unknownId()))],
  ['getJobStatus', 422, () => get(open, status('not-a-uuid'), bad)],
  ['getJobStatus', 500, () => get(broken, status(brokenJob.id))],

  ['getJobVideo', 200, async () => get(open, video((await newJob(open)).id))],
  ['getJobVideo', 401, () => get(strict, video(unknownId()))],
  ['getJobVideo', 404, () => get(open, video(unknownId()))],
  ['getJobVideo', 422, () => get(open, video('not-a-uuid'), bad)],
  ['getJobVideo', 500, () => get(broken, video(brokenJob.id))],

  ['streamJobEvents', 200, async () => {
    const { id } = await newJob(open);
    expect((await post(open, cancel(id), '')).status).toBe(200);
    return get(open, `${status(id)}/events`);
  }],
  ['streamJobEvents', 401, () => get(strict, `${status(unknownId())}/events`)],
  ['streamJobEvents', 404, () => get(open, `${status(unknownId())}/events`)],
  ['streamJobEvents', 422, () => get(open, `${status('nope')}/events`, bad)],
  ['streamJobEvents', 429, async () => {
    const { id } = await newJob(streamCapped);
    const held = await get(streamCapped, `${status(id)}/events`);
    expect(held.status).toBe(200);
    try {
      return await get(streamCapped, `${status(id)}/events`);
    } finally {
      await held.body?.cancel();
    }
  }],
  ['streamJobEvents', 500, () => get(broken, `${status(brokenJob.id)}/events`)],

  ['listMyJobs', 200, () => get(strict, '/api/upload-video/jobs/mine?limit=5&status=pending', user())],
  ['listMyJobs', 401, () => get(strict, '/api/upload-video/jobs/mine')],
  ['listMyJobs', 404, () => get(open, '/api/upload-video/jobs/mine')],
  ['listMyJobs', 422, () => get(strict, '/api/upload-video/jobs/mine?created_before=soon', { ...user(), ...bad })],
  ['listMyJobs', 500, () => get(brokenStrict, '/api/upload-video/jobs/mine', user())],

  ['deleteJob', 204, async () => del(open, `/api/upload-video/jobs/${(await newJob(open)).id}`)],
  ['deleteJob', 401, () => del(strict, `/api/upload-video/jobs/${unknownId()}`)],
  ['deleteJob', 409, async () => {
    const job = await newJob(open);
    expect((await post(open, `/api/ml-callback/${job.token}/api/upload-video/result`, callback(job.id, { progress: 20 }))).status).toBe(200);
    return del(open, `/api/upload-video/jobs/${job.id}`);
  }],
  ['deleteJob', 422, () => del(open, `/api/upload-video/jobs/${unknownId()}?cancel=maybe`, bad)],
  ['deleteJob', 500, () => del(broken, `/api/upload-video/jobs/${brokenJob.id}`)],

  ['cancelJob', 200, async () => post(open, cancel((await newJob(open)).id), '')],
  ['cancelJob', 401, () => post(strict, cancel(unknownId()), '')],
  ['cancelJob', 404, () => post(open, cancel(unknownId()), '')],
  ['cancelJob', 409, async () => {
    const job = await newJob(open);
    const done = await post(open, `/api/ml-callback/${job.token}/api/upload-video/result`, callback(job.id, { status: 'completed', progress: 100, result: { segments: [] } }));
    expect(await done.json()).toMatchObject({ status: 'received' });
    return post(open, cancel(job.id), '');
  }],
  ['cancelJob', 422, () => post(open, cancel('123'), '', bad)],
  ['cancelJob', 500, () => post(broken, cancel(brokenJob.id), '')],

  ['listJobs', 200, () => get(open, '/api/upload-video/jobs?limit=5&status=pending', admin)],
  ['listJobs', 401, () => get(open, '/api/upload-video/jobs', { Authorization: 'Bearer not-the-admin-token' })],
  ['listJobs', 404, () => get(strict, '/api/upload-video/jobs', admin)],
  ['listJobs', 422, () => get(open, '/api/upload-video/jobs?limit=0', { ...admin, ...bad })],
  ['listJobs', 500, () => get(broken, '/api/upload-video/jobs', admin)],

  ['getMlServerHealth', 200, () => get(open, '/api/upload-video/ml-server/health')],
  ['getHealth', 200, () => get(open, '/health')],
  ['getHealth', 503, () => get(broken, '/health')],
  ['getLiveness', 200, () => get(broken, '/livez')],
  ['getReadiness', 200, () => get(open, '/readyz')],
  ['getReadiness', 503, () => get(broken, '/readyz')],

  ...callbackCases(),
  ...multipartCases(),
];

describe('every documented response is exercised', () => {
  it.each(CASES.map(([op, code, run]) => ({ op, code, run })))('$op answers $code', async ({ op, code, run }) => {
    const res = await run();
    const text = await res.text(); // reads SSE to its end (the job is terminal), checking every event
    expect(res.status, text.slice(0, 300)).toBe(code);
    if (code >= 400 && op !== 'getHealth' && op !== 'getReadiness') expect(JSON.parse(text)).toMatchObject({ error: expect.any(String), message: expect.any(String) });
    if (code === 200 && res.headers.get('content-type')?.startsWith('text/event-stream')) expect(text).toMatch(/^event: status$/m);
  });

  it('these cases and the exception list together cover every documented response of both versions', () => {
    const covered = new Set(CASES.map(([op, code]) => `${op} ${code}`));
    const uncovered: string[] = [];
    for (const version of ['v1.0', 'v1.1'] as const) {
      for (const op of contractOperations(version)) {
        for (const code of Object.keys(op.operation.responses ?? {})) {
          const key = `${op.operationId} ${code}`;
          if (!covered.has(key) && !(`* ${key}` in EXCEPTIONS) && !(`${version} ${key}` in EXCEPTIONS)) uncovered.push(`${version} ${key}`);
        }
      }
    }
    expect(uncovered).toEqual([]);
  });
});

describe('empty files', () => {
  it('request-process refuses a stored file of 0 bytes with 422 EMPTY_FILE', async () => {
    const key = await open.upload(new Uint8Array(0));
    const res = await post(open, '/api/upload-video/request-process', { fileKey: key });
    expect(res.status).toBe(422);
    expect(await res.json()).toMatchObject({ error: 'EMPTY_FILE' });
  });
});

describe('the event stream, followed live', () => {
  it('delivers spec-valid events from pending to completed, result included', async () => {
    const job = await newJob(open);
    const res = await get(open, `${status(job.id)}/events`);
    expect(res.status).toBe(200);
    const reader = res.body!.pipeThrough(new TextDecoderStream()).getReader();
    let seen = '';
    const until = async (pattern: RegExp) => {
      while (!pattern.test(seen)) {
        const { value, done } = await reader.read();
        if (done) break;
        seen += value;
      }
    };
    await until(/"status":"pending"/);
    await post(open, `/api/ml-callback/${job.token}/api/upload-video/result`, callback(job.id, { progress: 42, message: 'Identifying speakers' }));
    await until(/"progress":42/);
    const result = { text: 'hi', segments: [{ start_time: 0, end_time: 1, text: 'hi', speaker: 'SPEAKER_00', words: [{ word: 'hi', start: 0, end: 1, acoustic_features: { volume_db: -20, pitch_hz: 120 } }] }] };
    await post(open, `/api/ml-callback/${job.token}/api/upload-video/result`, callback(job.id, { status: 'completed', progress: 100, result }));
    await until(/"status":"completed"/);
    await until(/\n\n$/);
    const last = seen.trim().split('\n\n').at(-1)!;
    const data = JSON.parse(last.split('\n').find((l) => l.startsWith('data:'))!.slice(5)) as { result: { segments: Array<Record<string, unknown>> } };
    expect(data.result.segments[0]).toMatchObject({ start: 0, end: 1, speaker: { speaker_id: 'SPEAKER_00' } });
    await reader.cancel();
  });
});
