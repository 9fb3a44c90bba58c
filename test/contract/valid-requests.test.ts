/**
 * Valid requests, generated from the v1.1 spec's request schemas: every alias, optional
 * field and extra field the schemas allow. The independent validator confirms each request conforms
 * before it is sent; the server must accept it (2xx), or refuse it with a documented 4xx whose reason
 * is outside the schema (an unknown file: 404, a file type that is not video or audio: 415, a declared
 * size over the limit: 413, a video_url outside our storage: 422). Never a 5xx.
 */
import { randomUUID } from 'node:crypto';
import { eq } from 'drizzle-orm';
import fc from 'fast-check';
import { sign } from 'hono/jwt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { jobs } from '../../drizzle/schema.js';
import type { JsonSchema } from '../../scripts/spec.js';
import { createTestApp, PUBLIC_BASE, type TestApp } from '../support/app.js';
import { checkRequest, contractOperations } from '../support/contract.js';
import { property, text, valueOf } from './generate.js';
import { ADMIN_TOKEN, type Job,newJob } from './helpers.js';

let t: TestApp;
const keys: string[] = [];
let sent = 0;
const MAX_BYTES = 2 * 1024 ** 3;

beforeAll(async () => {
  // A database of its own: no other file's dispatcher moves these jobs between an ETag and its If-None-Match.
  t = await createTestApp({ ADMIN_TOKEN, RATE_LIMIT_PER_MINUTE: '0' }, undefined, { isolatedDatabase: true });
  for (const name of ['clip.mp4', 'talk.mp3', 'my video (1).webm']) keys.push(await t.upload(undefined, name, name.endsWith('mp3') ? 'audio/mpeg' : name.endsWith('webm') ? 'video/webm' : 'video/mp4'));
});
afterAll(async () => {
  console.log(`valid requests generated and sent: ${sent}`);
  await t?.close();
});

const op = (id: string) => contractOperations('v1.1').find((o) => o.operationId === id)!;
const bodySchema = (id: string) => op(id).operation.requestBody.content['application/json'].schema as JsonSchema;
const paramSchema = (id: string, name: string) => ((op(id).operation.parameters ?? []) as JsonSchema[]).find((p) => p.name === name)!.schema as JsonSchema;

/** A generated query parameter as the URL carries it: the spec's query parameters are strings and integers. */
function queryValue(value: unknown): string {
  if (typeof value === 'string' || typeof value === 'number') return String(value);
  throw new Error(`Not a query parameter value: ${JSON.stringify(value)}`);
}

/** Sends a request the validator agrees is valid; returns the response and its JSON. */
async function send(method: string, path: string, init: { body?: unknown; headers?: Record<string, string> } = {}) {
  const url = `${PUBLIC_BASE}${path}`;
  const headers = new Headers(init.headers);
  const body = init.body === undefined ? undefined : JSON.stringify(init.body);
  if (body !== undefined) headers.set('content-type', 'application/json');
  const check = checkRequest({ method, url, headers, body: body ?? null });
  expect(check.problems, `generated request should be valid: ${body}`).toEqual([]);
  sent += 1;
  const res = await t.fetch(url, { method, headers, ...(body !== undefined ? { body } : {}) });
  const text = await res.text();
  expect(res.status, `${method} ${path} ${body ?? ''} -> ${text.slice(0, 200)}`).toBeLessThan(500);
  return { res, json: text && res.headers.get('content-type')?.includes('json') ? (JSON.parse(text) as Record<string, unknown>) : undefined };
}

const MEDIA: Array<[string, string]> = [['mp4', 'video/mp4'], ['webm', 'video/webm'], ['mov', 'video/quicktime'], ['mkv', 'video/x-matroska'], ['mp3', 'audio/mpeg'], ['wav', 'audio/wav'], ['m4a', 'audio/mp4']];
const optionalBearer = fc.option(fc.string({ unit: 'grapheme-ascii', minLength: 1, maxLength: 40 }).filter((s) => /^[\x21-\x7e]+$/.test(s)).map((s) => ({ Authorization: `Bearer ${s}` })), { nil: undefined });

describe('valid requests, generated from the v1.1 request schemas, are accepted', () => {
  it('generateUploadUrl: any body the schema allows gets 200, or 413/415 for what the schema cannot say', async () => {
    const arb = fc.record({ body: valueOf(bodySchema('generateUploadUrl')), headers: optionalBearer });
    await property('generateUploadUrl (schema)', arb, 60, 1, async ({ body, headers }) => {
      const { res } = await send('POST', '/api/upload-video/generate-url', { body, ...(headers ? { headers } : {}) });
      expect([200, 413, 415]).toContain(res.status);
      const b = body as Record<string, unknown>;
      if (res.status === 413) expect(Number(b.file_size)).toBeGreaterThan(MAX_BYTES);
      const requested = [b.content_type, b.filetype, b.file_type].find((x): x is string => typeof x === 'string' && x.trim() !== '');
      if (res.status === 415) expect(requested === undefined || !/^(video|audio)\/[a-z0-9][a-z0-9.+-]*$/i.test(requested.trim())).toBe(true);
    });
  });

  it('createMultipartUpload: any body the schema allows gets 200, or 413/415 for what the schema cannot say', async () => {
    const arb = fc.record({ body: valueOf(bodySchema('createMultipartUpload')), headers: optionalBearer });
    await property('createMultipartUpload (schema)', arb, 40, 3, async ({ body, headers }) => {
      const { res, json } = await send('POST', '/api/upload-video/multipart/create', { body, ...(headers ? { headers } : {}) });
      expect([200, 413, 415]).toContain(res.status);
      const b = body as { file_size: number; content_type?: string };
      if (res.status === 413) expect(b.file_size).toBeGreaterThan(MAX_BYTES);
      if (res.status === 200) {
        const plan = json as { part_size: number; part_count: number; file_size: number; upload_id: string; file_key: string };
        expect(plan.file_size).toBe(b.file_size);
        expect(plan.part_count).toBe(Math.ceil(b.file_size / plan.part_size));
        await send('POST', '/api/upload-video/multipart/abort', { body: { file_key: plan.file_key, upload_id: plan.upload_id } });
      }
    });
  });

  it('presignUploadParts, listUploadedParts, completeMultipartUpload, abortMultipartUpload: schema-valid bodies naming a live upload are accepted', async () => {
    const created = await send('POST', '/api/upload-video/multipart/create', { body: { filename: 'clip.mp4', file_size: 40 * 1024 ** 2, part_size: 5 * 1024 ** 2 } });
    const ref = { file_key: String(created.json!.file_key), upload_id: String(created.json!.upload_id) };
    const arb = valueOf(bodySchema('presignUploadParts')).map((b) => ({ ...(b as { part_numbers: number[] }), ...ref }));
    await property('presignUploadParts (schema)', arb, 30, 4, async (body) => {
      const { res } = await send('POST', '/api/upload-video/multipart/presign-parts', { body });
      // The schema allows part numbers up to 10 000; this upload has 8 parts.
      expect(res.status).toBe(body.part_numbers.every((n) => n <= 8) ? 200 : 422);
    });
    expect((await send('POST', '/api/upload-video/multipart/list-parts', { body: ref })).res.status).toBe(200);
    expect((await send('POST', '/api/upload-video/multipart/complete', { body: ref })).res.status).toBe(409);
    expect((await send('POST', '/api/upload-video/multipart/abort', { body: ref })).res.status).toBe(200);
  });

  it('generateUploadUrl: every alias of a media upload gets 200 with one URL and one key, in the documented key format', async () => {
    const arb = fc.record({
      nameField: fc.constantFrom('filename', 'file_name', 'both'),
      typeField: fc.constantFrom('content_type', 'filetype', 'file_type', 'none', 'empty'),
      stem: text(1, 60),
      media: fc.constantFrom(...MEDIA),
      upper: fc.boolean(),
      size: fc.option(fc.integer({ min: 0, max: MAX_BYTES }), { nil: undefined }),
      headers: optionalBearer,
    });
    await property('generateUploadUrl (aliases)', arb, 50, 2, async ({ nameField, typeField, stem, media: [ext, type], upper, size, headers }) => {
      const filename = `${stem}.${upper ? ext.toUpperCase() : ext}`;
      const body: Record<string, unknown> = {};
      if (nameField !== 'file_name') body.filename = filename;
      if (nameField !== 'filename') body.file_name = filename;
      if (typeField === 'empty') body.content_type = '';
      else if (typeField !== 'none') body[typeField] = upper ? type.toUpperCase() : type;
      if (size !== undefined) body.file_size = size;
      const { res, json } = await send('POST', '/api/upload-video/generate-url', { body, ...(headers ? { headers } : {}) });
      expect(res.status).toBe(200);
      const r = json as Record<string, string>;
      expect(r.upload_url).toBe(r.presigned_url);
      expect(r.url).toBe(r.presigned_url);
      expect(r.fileKey).toBe(r.file_key);
      expect(r.content_type).toBe(type);
      expect(r.file_key).toMatch(/^videos\/anonymous\/\d{8}_\d{6}_[0-9a-f]{8}_[^/]+$/);
      expect(r.file_key).not.toContain('..');
    });
  });

  it('requestProcess: every alias, language and extra field; an uploaded file gets 200 and a stored job', async () => {
    const language = valueOf(((bodySchema('requestProcess').anyOf as JsonSchema[])[0]!.properties as Record<string, JsonSchema>).language!);
    const arb = fc.record({
      alias: fc.constantFrom('fileKey', 'file_key', 'both', 'video_url'),
      source: fc.constantFrom('uploaded', 'uploaded', 'missing', 'foreign'),
      key: fc.constantFrom(...keys.map((_, i) => i)),
      language: fc.option(language, { nil: undefined }),
      extra: fc.dictionary(fc.constantFrom('callback_url', 'priority', 'x', 'fastapi_base_url', 'enable_gpu'), fc.jsonValue({ maxDepth: 1 }), { maxKeys: 2 }),
      idempotent: fc.boolean(),
    });
    await property('requestProcess', arb, 60, 3, async ({ alias, source, key: k, language: lang, extra, idempotent }) => {
      const key = source === 'missing' ? `videos/anonymous/${randomUUID()}_missing.mp4` : keys[k]!;
      const url = source === 'foreign' ? `https://example.com/${key}` : `${PUBLIC_BASE}/storage/${key.split('/').map(encodeURIComponent).join('/')}`;
      const body: Record<string, unknown> = { ...extra };
      if (alias === 'fileKey' || alias === 'both') body.fileKey = key;
      if (alias === 'file_key' || alias === 'both') body.file_key = key;
      if (alias === 'video_url') body.video_url = url;
      if (lang !== undefined) body.language = lang;
      const headers = idempotent ? { 'Idempotency-Key': `contract-${randomUUID()}` } : undefined;
      const { res, json } = await send('POST', '/api/upload-video/request-process', { body, ...(headers ? { headers } : {}) });
      const foreign = alias === 'video_url' && source === 'foreign';
      expect(res.status).toBe(foreign ? 422 : source === 'missing' ? 404 : 200);
      if (res.status === 200) {
        const [row] = await t.database.db.select().from(jobs).where(eq(jobs.id, String(json!.job_id)));
        expect(row).toMatchObject({ fileKey: key, language: lang ?? 'auto' });
      }
    });
  });

  it('getJobStatus: known and unknown ids, any If-None-Match', async () => {
    const known: Job[] = [await newJob(t), await newJob(t)];
    const arb = fc.record({
      which: fc.constantFrom(0, 1, 'unknown'),
      ifNoneMatch: fc.option(fc.oneof(fc.constant('current'), fc.string({ unit: 'grapheme-ascii', maxLength: 200 }).filter((s) => /^[\x21-\x7e]([\x20-\x7e]*[\x21-\x7e])?$/.test(s))), { nil: undefined }),
    });
    await property('getJobStatus', arb, 30, 4, async ({ which, ifNoneMatch }) => {
      const id = which === 'unknown' ? randomUUID() : known[which as number]!.id;
      let tag = ifNoneMatch;
      if (tag === 'current') tag = which === 'unknown' ? 'W/"none"' : ((await t.fetch(`${PUBLIC_BASE}/api/upload-video/status/${id}`)).headers.get('etag') ?? '');
      const { res } = await send('GET', `/api/upload-video/status/${id}`, tag !== undefined ? { headers: { 'If-None-Match': tag } } : {});
      expect(res.status).toBe(which === 'unknown' ? 404 : ifNoneMatch === 'current' ? 304 : 200);
    });
  });

  it('getJobVideo: a known job gets a URL of its own upload, an unknown id 404', async () => {
    const known = await newJob(t);
    await property('getJobVideo', fc.boolean(), 10, 2, async (isKnown) => {
      const id = isKnown ? known.id : randomUUID();
      const { res, json } = await send('GET', `/api/upload-video/video/${id}`);
      expect(res.status).toBe(isKnown ? 200 : 404);
      if (isKnown) expect(String((json as { video_url: string }).video_url)).toContain('/storage/');
    });
  });

  it('cancelJob and streamJobEvents: known jobs are cancelled (again and again) and streamed; unknown ids get 404', async () => {
    await property('cancelJob + streamJobEvents', fc.record({ known: fc.boolean(), times: fc.integer({ min: 1, max: 3 }) }), 20, 5, async ({ known, times }) => {
      const id = known ? (await newJob(t)).id : randomUUID();
      for (let i = 0; i < times; i++) {
        const { res, json } = await send('POST', `/api/upload-video/cancel/${id}`);
        expect(res.status).toBe(known ? 200 : 404);
        if (known) expect(json).toMatchObject({ job_id: id, status: 'cancelled' });
      }
      const { res } = await send('GET', `/api/upload-video/status/${id}/events`);
      expect(res.status).toBe(known ? 200 : 404);
    });
  });

  it('listJobs: any status filter, limit and offset the spec allows', async () => {
    const arb = fc.record({
      status: fc.option(valueOf(paramSchema('listJobs', 'status')), { nil: undefined }),
      limit: fc.option(valueOf(paramSchema('listJobs', 'limit')), { nil: undefined }),
      offset: fc.option(fc.oneof(fc.integer({ min: 0, max: 50 }), valueOf(paramSchema('listJobs', 'offset'))), { nil: undefined }),
    });
    await property('listJobs', arb, 30, 6, async ({ status, limit, offset }) => {
      const q = new URLSearchParams();
      if (status !== undefined) q.set('status', queryValue(status));
      if (limit !== undefined) q.set('limit', queryValue(limit));
      if (offset !== undefined) q.set('offset', queryValue(offset));
      const { res, json } = await send('GET', `/api/upload-video/jobs?${q}`, { headers: { Authorization: `Bearer ${ADMIN_TOKEN}` } });
      expect(res.status).toBe(200);
      const page = json as { jobs: Array<{ status: string }>; limit: number; offset: number };
      expect(page.limit).toBe(limit ?? 20);
      expect(page.offset).toBe(offset ?? 0);
      expect(page.jobs.length).toBeLessThanOrEqual(page.limit);
      if (status !== undefined) expect(page.jobs.every((j) => j.status === status)).toBe(true);
    });
  });

  it('deleteJob: known finished jobs, known pending ones and unknown ids, with or without cancel, answer 204 and leave no job', async () => {
    await property('deleteJob', fc.record({ which: fc.constantFrom('pending', 'cancelled', 'unknown'), cancel: fc.option(fc.boolean(), { nil: undefined }) }), 15, 7, async ({ which, cancel }) => {
      const id = which === 'unknown' ? randomUUID() : (await newJob(t)).id;
      if (which === 'cancelled') await send('POST', `/api/upload-video/cancel/${id}`);
      const { res } = await send('DELETE', `/api/upload-video/jobs/${id}${cancel === undefined ? '' : `?cancel=${cancel}`}`);
      expect(res.status).toBe(204);
      expect((await send('GET', `/api/upload-video/status/${id}`)).res.status).toBe(404);
    });
  });

  it('listMyJobs: any status, creation window, limit and cursor the spec allows, with authentication on', async () => {
    const secret = 'contract-jwt-secret-0123456789';
    const auth = await createTestApp({ JWT_SECRET: secret, RATE_LIMIT_PER_MINUTE: '0' });
    try {
      const token = await sign({ sub: `contract-${randomUUID()}`, exp: Math.floor(Date.now() / 1000) + 600 }, secret, 'HS256');
      const headers = { Authorization: `Bearer ${token}` };
      for (let i = 0; i < 3; i += 1) {
        const fileKey = await auth.upload(undefined, 'clip.mp4', 'video/mp4', token);
        await auth.fetch(`${PUBLIC_BASE}/api/upload-video/request-process`, { method: 'POST', headers: { ...headers, 'content-type': 'application/json' }, body: JSON.stringify({ fileKey }) });
      }
      const arb = fc.record({
        status: fc.option(valueOf(paramSchema('listMyJobs', 'status')), { nil: undefined }),
        limit: fc.option(fc.integer({ min: 1, max: 100 }), { nil: undefined }),
        after: fc.option(fc.date({ min: new Date('2000-01-01'), max: new Date('2100-01-01'), noInvalidDate: true }), { nil: undefined }),
        before: fc.option(fc.date({ min: new Date('2000-01-01'), max: new Date('2100-01-01'), noInvalidDate: true }), { nil: undefined }),
      });
      await property('listMyJobs', arb, 20, 8, async ({ status, limit, after, before }) => {
        const q = new URLSearchParams();
        if (status !== undefined) q.set('status', queryValue(status));
        if (limit !== undefined) q.set('limit', String(limit));
        if (after !== undefined) q.set('created_after', after.toISOString());
        if (before !== undefined) q.set('created_before', before.toISOString());
        const res = await auth.fetch(`${PUBLIC_BASE}/api/upload-video/jobs/mine?${q}`, { headers });
        expect(res.status).toBe(200);
        const page = (await res.json()) as { jobs: Array<{ status: string; created_at: string }>; limit: number; next_cursor: string | null };
        expect(page.jobs.length).toBeLessThanOrEqual(page.limit);
        if (status !== undefined) expect(page.jobs.every((j) => j.status === status)).toBe(true);
        if (after !== undefined) expect(page.jobs.every((j) => Date.parse(j.created_at) >= after.getTime())).toBe(true);
        if (page.next_cursor !== null) {
          const next = await auth.fetch(`${PUBLIC_BASE}/api/upload-video/jobs/mine?${q}&cursor=${page.next_cursor}`, { headers });
          expect(next.status).toBe(200);
        }
      });
    } finally {
      await auth.close();
    }
  });

  it('getHealth, getLiveness, getReadiness and getMlServerHealth take no input and answer 200', async () => {
    expect((await send('GET', '/health')).res.status).toBe(200);
    expect((await send('GET', '/livez')).res.status).toBe(200);
    expect((await send('GET', '/readyz')).res.status).toBe(200);
    expect((await send('GET', '/api/upload-video/ml-server/health')).res.status).toBe(200);
  });

  // PostgreSQL text and jsonb cannot hold U+0000, which JSON and the spec allow: the backend drops the character.
  it('a valid request-process with U+0000 in language is accepted', async () => {
    const { res } = await send('POST', '/api/upload-video/request-process', { body: { fileKey: keys[0], language: 'e\u0000n' } });
    expect(res.status).toBe(200);
  });

  it('every operation of v1.1 is generated here or, for callbacks, in callbacks.test.ts', () => {
    const multipart = ['createMultipartUpload', 'presignUploadParts', 'listUploadedParts', 'completeMultipartUpload', 'abortMultipartUpload'];
    const here = [...multipart, 'generateUploadUrl', 'requestProcess', 'getJobStatus', 'getJobVideo', 'cancelJob', 'streamJobEvents', 'listJobs', 'listMyJobs', 'deleteJob', 'getHealth', 'getLiveness', 'getReadiness', 'getMlServerHealth'];
    const callbacks = ['receiveMlResult', 'receiveLegacyMlResult', 'receiveMlResultWithToken', 'receiveLegacyMlResultWithToken'];
    expect(contractOperations('v1.1').map((o) => o.operationId).sort()).toEqual([...here, ...callbacks].sort());
  });
});
