/**
 * The contract check itself (test/support/contract.ts) is not vacuous: against a fake backend that
 * breaks the spec in each way it must notice, it throws a ContractViolation in the calling test.
 * (These wrappers do not record, so the run's coverage and violation report stay clean.)
 */
import { Hono } from 'hono';
import { describe, expect, it } from 'vitest';
import { checkRequest, contractFetch, ContractViolation, INVALID_REQUEST_HEADER, invalidRequest } from '../support/contract.js';

const JOB = '550e8400-e29b-41d4-a716-446655440000';
const status = { job_id: JOB, status: 'processing', progress: 40, message: null, language: 'auto', created_at: '2025-09-11T03:45:48Z', updated_at: '2025-09-11T03:46:30Z' };

function fake(routes: (app: Hono) => void) {
  const app = new Hono();
  routes(app);
  const seen: Request[] = [];
  const f = contractFetch(async (req) => (seen.push(req), app.fetch(req)), { record: false });
  return { fetch: (path: string, init?: RequestInit) => f(`http://backend.test${path}`, init), seen };
}

describe('the contract check', () => {
  it('lets a conforming answer through untouched', async () => {
    const b = fake((app) => app.get('/api/upload-video/status/:id', (c) => (c.header('ETag', 'W/"1"'), c.json(status))));
    const res = await b.fetch(`/api/upload-video/status/${JOB}`);
    expect(await res.json()).toEqual(status);
  });

  it.each([
    ['a missing required field', (app: Hono) => app.get('/api/upload-video/status/:id', (c) => (c.header('ETag', 'x'), c.json({ ...status, progress: undefined }))), /required property 'progress'/],
    ['a status outside the enum', (app: Hono) => app.get('/api/upload-video/status/:id', (c) => (c.header('ETag', 'x'), c.json({ ...status, status: 'paused' }))), /allowed values/],
    ['start_time leaking into a result', (app: Hono) => app.get('/api/upload-video/status/:id', (c) => (c.header('ETag', 'x'), c.json({ ...status, status: 'completed', result: { text: '', language: null, duration: null, metadata: { filename: null, duration: null, language: null, model_version: null, processing_time: null, total_segments: 1, unique_speakers: 0 }, speakers: [], segments: [{ id: 0, start: 0, end: 1, start_time: 0, text: '', speaker: { speaker_id: null }, words: [] }] } }))), /additional properties/],
    ['speakers as a dict', (app: Hono) => app.get('/api/upload-video/status/:id', (c) => (c.header('ETag', 'x'), c.json({ ...status, status: 'completed', result: { text: '', language: null, duration: null, metadata: { filename: null, duration: null, language: null, model_version: null, processing_time: null, total_segments: 0, unique_speakers: 0 }, speakers: { SPEAKER_00: {} }, segments: [] } }))), /must be array/],
    ['no ETag on getJobStatus', (app: Hono) => app.get('/api/upload-video/status/:id', (c) => c.json(status)), /no ETag/],
    ['an undocumented status code', (app: Hono) => app.get('/api/upload-video/status/:id', (c) => c.json({ error: 'CONFLICT', message: 'x' }, 409)), /409 is not documented/],
    ['an error outside the envelope', (app: Hono) => app.get('/api/upload-video/status/:id', (c) => c.json({ detail: 'Not found' }, 404)), /required property 'error'/],
    ['an unknown error code', (app: Hono) => app.get('/api/upload-video/status/:id', (c) => c.json({ error: 'OOPS', message: 'x' }, 404)), /allowed values/],
    ['a 429 without Retry-After', (app: Hono) => app.post('/api/upload-video/request-process', (c) => c.json({ error: 'RATE_LIMITED', message: 'slow down' }, 429)), /Retry-After/],
    ['a 304 without ETag', (app: Hono) => app.get('/api/upload-video/status/:id', (c) => c.body(null, 304)), /304: no ETag/],
    ['HTML instead of JSON', (app: Hono) => app.get('/health', (c) => c.html('<p>ok</p>')), /content type "text\/html"/],
    ['an unknown route answered 200', (app: Hono) => app.get('/api/nope', (c) => c.json({ ok: true })), /expected 404 or 405/],
  ])('throws on %s', async (_name, routes, message) => {
    const b = fake(routes);
    const path = _name.includes('429') ? '/api/upload-video/request-process' : _name.includes('HTML') ? '/health' : _name.includes('unknown route') ? '/api/nope' : `/api/upload-video/status/${JOB}`;
    const init = path.endsWith('request-process') ? { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"fileKey":"k"}' } : undefined;
    const err = await b.fetch(path, init).then(() => undefined, (e: unknown) => e);
    expect(err).toBeInstanceOf(ContractViolation);
    expect((err as Error).message).toMatch(message);
  });

  it('checks each Server-Sent Event as the test reads it', async () => {
    const b = fake((app) =>
      app.get('/api/upload-video/status/:id/events', () => new Response(`event: status\ndata: ${JSON.stringify(status)}\n\n: keep-alive\n\nevent: status\ndata: {"job_id":"x"}\n\n`, { headers: { 'content-type': 'text/event-stream' } })),
    );
    const res = await b.fetch(`/api/upload-video/status/${JOB}/events`);
    expect(res.status).toBe(200);
    const err = await res.text().then(() => undefined, (e: unknown) => e);
    expect(err).toBeInstanceOf(ContractViolation);
    expect((err as Error).message).toMatch(/event data/);
  });

  it('validates requests without failing them, and strips the deliberate-invalid marker before the app sees it', async () => {
    const b = fake((app) => app.post('/api/upload-video/generate-url', (c) => c.json({ error: 'VALIDATION_ERROR', message: 'x' }, 422)));
    const res = await b.fetch('/api/upload-video/generate-url', { method: 'POST', headers: { 'content-type': 'application/json', ...invalidRequest('test') }, body: '{}' });
    expect(res.status).toBe(422);
    expect(b.seen[0]!.headers.has(INVALID_REQUEST_HEADER)).toBe(false);
    const check = (body: string, type = 'application/json') => checkRequest({ method: 'POST', url: 'http://x/api/upload-video/generate-url', headers: new Headers({ 'content-type': type }), body }).problems;
    expect(check('{"filename":"a.mp4"}')).toEqual([]);
    expect(check('{"file_name":"a.mp4","filetype":"video/mp4"}')).toEqual([]);
    expect(check('{}').length).toBeGreaterThan(0);
    expect(check('{"filename":')).toEqual(['request body is not valid JSON']);
    expect(check('{"filename":"a.mp4"}', 'text/plain')[0]).toMatch(/content type/);
    const param = checkRequest({ method: 'GET', url: 'http://x/api/upload-video/jobs?limit=0', headers: new Headers(), body: null }).problems;
    expect(param[0]).toMatch(/query parameter limit/);
  });

  it('leaves the storage, the served documents and CORS preflights alone', async () => {
    const b = fake((app) => {
      app.put('/storage/*', (c) => c.text('odd', 201));
      app.get('/openapi/v1.1.json', (c) => c.text('not checked'));
      app.options('/api/upload-video/generate-url', (c) => c.body(null, 204));
    });
    expect((await b.fetch('/storage/videos/x.mp4', { method: 'PUT', body: 'x' })).status).toBe(201);
    expect((await b.fetch('/openapi/v1.1.json')).status).toBe(200);
    expect((await b.fetch('/api/upload-video/generate-url', { method: 'OPTIONS' })).status).toBe(204);
  });
});
