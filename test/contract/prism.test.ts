/**
 * The contract against an independent implementation of it: Stoplight Prism.
 *
 * 1. Prism as a mock server of each version's bundled backend document: a consumer typed by the generated types
 *    (openapi-fetch + `paths`) and the SDK's high-level client call every operation; Prism validates
 *    every request against the spec (a non-conforming one gets 422 and an `sl-violations` header), and
 *    its answers must in turn pass our own validator.
 * 2. Prism as a validating proxy (`--errors`) in front of the real backend served over HTTP: the whole
 *    flow (generate-url -> PUT -> request-process -> status -> callbacks -> status -> cancel) goes
 *    through it, and Prism must report no violation of either requests or responses.
 *
 * Each Prism starts once for this file (they take a few seconds) and is stopped in afterAll.
 */
import { type ChildProcess,spawn } from 'node:child_process';
import { type AddressInfo,createServer } from 'node:net';
import { join } from 'node:path';
import { serve } from '@hono/node-server';
import createClient from 'openapi-fetch';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bundleFile } from '../../scripts/spec.js';
import type { paths as PathsV10 } from '../../sdk/src/generated/v1.0/backend.js';
import type { paths as PathsV11 } from '../../sdk/src/generated/v1.1/backend.js';
import * as sdk from '../../sdk/src/index.js';
import { createTestApp, type TestApp } from '../support/app.js';
import { checkResponse, matchRoute } from '../support/contract.js';
import { ADMIN_TOKEN, callback, tokenOf, xSignature } from './helpers.js';

const root = join(import.meta.dirname, '..', '..');
const PRISM = join(root, 'node_modules', '@stoplight', 'prism-cli', 'dist', 'index.js');

interface Prism {
  url: string;
  output: string[];
  process: ChildProcess;
}

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address() as AddressInfo;
      s.close(() => resolve(port));
    });
  });
}

/** Starts Prism with `args` on a free port and resolves once it listens. */
async function startPrism(args: string[]): Promise<Prism> {
  const port = await freePort();
  const child = spawn(process.execPath, [PRISM, ...args, '-p', String(port), '-h', '127.0.0.1'], { cwd: root, stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, FORCE_COLOR: '0', NO_COLOR: '1' } });
  const output: string[] = [];
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`Prism did not start within 30 s:\n${output.join('')}`)), 30_000);
    const onData = (chunk: Buffer) => {
      output.push(chunk.toString());
      if (output.join('').includes('Prism is listening')) {
        clearTimeout(timer);
        resolve();
      }
    };
    child.stdout.on('data', onData);
    child.stderr.on('data', onData);
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`Prism exited with ${code}:\n${output.join('')}`));
    });
  });
  return { url: `http://127.0.0.1:${port}`, output, process: child };
}

async function stopPrism(p: Prism | undefined): Promise<void> {
  if (!p || p.process.exitCode !== null) return;
  const exited = new Promise((r) => p.process.once('exit', r));
  p.process.kill('SIGTERM');
  await Promise.race([exited, new Promise((r) => setTimeout(r, 3000).unref())]);
  if (p.process.exitCode === null) p.process.kill('SIGKILL');
}

/** Lines where Prism reported a violation of the spec, since output chunk `from` (see mark()). */
async function violations(p: Prism, from = 0): Promise<string[]> {
  await new Promise((r) => setTimeout(r, 300)); // Prism logs after it answers
  return p.output
    .slice(from)
    .join('')
    .split('\n')
    .filter((l) => /Violation|✖ +error|sl-violations/i.test(l));
}
const mark = (p: Prism) => p.output.length;

/** Our own validator on an answer that did not come from the app (Prism's). */
async function ourCheck(method: string, url: string, res: Response): Promise<string[]> {
  const match = matchRoute(method, new URL(url).pathname);
  if (!match) return [`no operation ${method} ${url}`];
  const sse = res.headers.get('content-type')?.startsWith('text/event-stream');
  return checkResponse(match, { status: res.status, headers: res.headers, body: sse ? '' : await res.clone().text() });
}

const JOB = '550e8400-e29b-41d4-a716-446655440000';
const mocks = new Map<string, Prism>();
let proxy: Prism | undefined;
let backend: { t: TestApp; url: string; close(): Promise<void> } | undefined;
/** A proxy in front of an upstream that breaks the spec: proves the proxy check can fail. */
let control: { prism: Prism; close(): Promise<void> } | undefined;

function listen(fetchFn: (req: Request) => Response | Promise<Response>): Promise<{ url: string; close(): Promise<void> }> {
  return new Promise((resolve) => {
    const s = serve({ fetch: fetchFn, port: 0, hostname: '127.0.0.1' }, (info: AddressInfo) =>
      resolve({
        url: `http://127.0.0.1:${info.port}`,
        close: () =>
          new Promise<void>((done) => {
            const h = s as unknown as { close(cb: () => void): void; closeAllConnections?: () => void };
            h.closeAllConnections?.();
            h.close(() => done());
          }),
      }),
    );
  });
}

beforeAll(async () => {
  // The backend over real HTTP. Its public base (embedded storage URLs, callback bases) is its own address.
  const started: { app?: TestApp } = {};
  const server = await listen((req) => (started.app ? started.app.fetch(req) : new Response('starting', { status: 503 })));
  // `app.fetch` here is the contract-checked fetch of the test harness: traffic through Prism is checked twice.
  const app = await createTestApp({ FASTAPI_BASE_URL: server.url, ADMIN_TOKEN, ALLOW_UNSIGNED_CALLBACKS: 'true', RATE_LIMIT_PER_MINUTE: '0' }, undefined, { isolatedDatabase: true });
  started.app = app;
  backend = { t: app, url: server.url, close: async () => (await server.close(), await app.close()) };

  const liar = await listen(() => Response.json({ job_id: 'nope', status: 'exploded' }, { headers: { ETag: 'W/"1"' } }));
  const [v10, v11, px, ctl] = await Promise.all([
    startPrism(['mock', bundleFile('v1.0', 'backend')]),
    startPrism(['mock', bundleFile('v1.1', 'backend')]),
    startPrism(['proxy', bundleFile('v1.1', 'backend'), server.url, '--errors']),
    startPrism(['proxy', bundleFile('v1.1', 'backend'), liar.url, '--errors']),
  ]);
  mocks.set('v1.0', v10);
  mocks.set('v1.1', v11);
  proxy = px;
  control = { prism: ctl, close: () => liar.close() };
}, 60_000);

afterAll(async () => {
  await Promise.all([...mocks.values(), proxy, control?.prism].map(stopPrism));
  await Promise.all([backend?.close(), control?.close()]);
});

// ---------------------------------------------------------------------------------------------

/**
 * One call per operation, typed by the generated `paths` of the version: the v1.0 operations through a
 * client typed by the v1.0 types, the two v1.1-only callback routes through one typed by v1.1's.
 */
async function everyOperation(client: ReturnType<typeof createClient<PathsV10>>, v11?: ReturnType<typeof createClient<PathsV11>>) {
  const token = 'AbCdEfGhIjKlMnOpQrStUv';
  const cb = { job_id: JOB, status: 'processing' as const, progress: 40, message: 'Identifying speakers', result: null, error_message: null, error_code: null };
  const signed = { 'X-Signature-256': xSignature('mock', JSON.stringify(cb)) };
  const key = 'videos/anonymous/20240101_120000_abc12345_video.mp4';
  const calls: Array<[string, () => Promise<{ response: Response }>]> = [
    ['generateUploadUrl', () => client.POST('/api/upload-video/generate-url', { body: { filename: 'clip.mp4', content_type: 'video/mp4' } })],
    ['generateUploadUrl (aliases)', () => client.POST('/api/upload-video/generate-url', { body: { file_name: 'clip.webm', filetype: 'video/webm', file_size: 1024 } })],
    ['requestProcess', () => client.POST('/api/upload-video/request-process', { body: { fileKey: key, language: 'auto' }, params: { header: { 'Idempotency-Key': 'k-1' } } })],
    ['requestProcess (file_key)', () => client.POST('/api/upload-video/request-process', { body: { file_key: key } })],
    ['getJobStatus', () => client.GET('/api/upload-video/status/{job_id}', { params: { path: { job_id: JOB } } })],
    ['streamJobEvents', () => client.GET('/api/upload-video/status/{job_id}/events', { params: { path: { job_id: JOB } }, parseAs: 'text' })],
    ['cancelJob', () => client.POST('/api/upload-video/cancel/{job_id}', { params: { path: { job_id: JOB } } })],
    ['listJobs', () => client.GET('/api/upload-video/jobs', { params: { query: { status: 'pending', limit: 10, offset: 0 } }, headers: { Authorization: `Bearer ${ADMIN_TOKEN}` } })],
    ['getMlServerHealth', () => client.GET('/api/upload-video/ml-server/health')],
    ['getHealth', () => client.GET('/health')],
    ['receiveLegacyMlResult', () => client.POST('/api/v1/ml/ml-results', { body: cb, headers: signed })],
    ['receiveLegacyMlResultWithToken', () => client.POST('/api/ml-callback/{callback_token}/api/v1/ml/ml-results', { params: { path: { callback_token: token } }, body: cb })],
  ];
  if (v11) {
    calls.push(
      ['receiveMlResult', () => v11.POST('/api/upload-video/result', { body: cb, headers: signed })],
      ['receiveMlResultWithToken', () => v11.POST('/api/ml-callback/{callback_token}/api/upload-video/result', { params: { path: { callback_token: token } }, body: cb })],
    );
  }
  const outcomes: string[] = [];
  for (const [name, call] of calls) {
    const { response } = await call();
    outcomes.push(`${name}: ${response.status}${response.headers.get('sl-violations') ? ` sl-violations ${response.headers.get('sl-violations')}` : ''}`);
  }
  return outcomes;
}

describe.each(['v1.0', 'v1.1'] as const)('Prism mock of the %s backend document', (version) => {
  it('accepts every request of a consumer typed by the generated types, and answers what our validator accepts', async () => {
    const mock = mocks.get(version)!;
    const from = mark(mock);
    const seen: Array<{ method: string; url: string; res: Response }> = [];
    const fetchAndKeep = async (req: Request) => {
      const res = await fetch(req);
      seen.push({ method: req.method, url: req.url, res: res.clone() });
      return res;
    };
    const client = createClient<PathsV10>({ baseUrl: mock.url, fetch: fetchAndKeep });
    const v11 = version === 'v1.1' ? createClient<PathsV11>({ baseUrl: mock.url, fetch: fetchAndKeep }) : undefined;
    const outcomes = await everyOperation(client, v11);
    expect(outcomes).toHaveLength(version === 'v1.1' ? 14 : 12);
    expect(outcomes.filter((o) => !/: 2\d\d$/.test(o)), outcomes.join('\n')).toEqual([]);
    for (const { method, url, res } of seen) expect(await ourCheck(method, url, res), `${method} ${url}`).toEqual([]);
    expect(await violations(mock, from)).toEqual([]);
  });

  it('refuses a request that breaks the spec (the check is not vacuous)', async () => {
    const mock = mocks.get(version)!;
    const from = mark(mock);
    const res = await fetch(`${mock.url}/api/upload-video/generate-url`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"content_type": 5}' });
    expect(res.status).toBe(422);
    expect(res.headers.get('sl-violations')).toMatch(/filename/);
    expect((await violations(mock, from)).length).toBeGreaterThan(0);
  });

  // The per-job token routes are authenticated by the token in their path, which no OpenAPI security scheme can
  // name (`security: []`): a callback as the real ML server sends it, with no extra header, passes the mock.
  it('a token-route callback as the real ML server sends it (no extra header) passes', async () => {
    const mock = mocks.get(version)!;
    const body = JSON.stringify({ job_id: JOB, status: 'processing', progress: 10, message: null, result: null, error_message: null, error_code: null });
    const res = await fetch(`${mock.url}/api/ml-callback/AbCdEfGhIjKlMnOpQrStUv/api/v1/ml/ml-results`, { method: 'POST', headers: { 'content-type': 'application/json' }, body });
    await res.body?.cancel();
    expect(res.status).toBe(200);
  });

  it("the SDK's high-level client works against the mock", async () => {
    const mock = mocks.get(version)!;
    const from = mark(mock);
    const ecg = sdk.createBackendClient({ baseUrl: mock.url, fetch: (req) => fetch(req) });
    const created = await ecg.requestProcess({ fileKey: 'videos/anonymous/20240101_120000_abc12345_video.mp4', language: 'auto', idempotencyKey: 'k-2' });
    expect(created.job_id).toMatch(/^[0-9a-f-]{36}$/);
    const status = await ecg.getStatus(created.job_id);
    expect(typeof status.status).toBe('string');
    const cancelled = await ecg.cancel(created.job_id);
    expect(cancelled.status).toBe('cancelled');
    expect(await violations(mock, from)).toEqual([]);
  });
});

describe('Prism as a validating proxy in front of the real backend', () => {
  it('sees no violation in the whole flow: generate-url, PUT, request-process, status, callbacks, status, events, cancel', async () => {
    const px = proxy!;
    const from = mark(px);
    const { t } = backend!;
    // Only headers are kept: a clone would hold the body (the SDK cancels the upload answer's body, which
    // on a tee waits for both branches).
    const answers: Array<{ what: string; violations: string | null }> = [];
    const through = async (req: Request) => {
      const res = await fetch(req);
      answers.push({ what: `${req.method} ${new URL(req.url).pathname}`, violations: res.headers.get('sl-violations') });
      return res;
    };
    const ecg = sdk.createBackendClient({ baseUrl: px.url, fetch: through });
    const client = createClient<PathsV11>({ baseUrl: px.url, fetch: through });

    // The SDK uploads: generate-url through Prism, then the PUT straight to the storage URL it got.
    const fileKey = await ecg.uploadVideo(new Uint8Array(2048).fill(1), { filename: 'clip.mp4', contentType: 'video/mp4' });
    expect(fileKey).toMatch(/^videos\/anonymous\//);
    const job = await ecg.requestProcess({ fileKey, language: 'auto' });
    expect((await ecg.getStatus(job.job_id)).status).toBe('pending');

    // The ML server's callbacks, through Prism, on the per-job callback base the backend would send it.
    const token = await tokenOf(t, job.job_id);
    const progress = await client.POST('/api/ml-callback/{callback_token}/api/upload-video/result', {
      params: { path: { callback_token: token } },
      body: callback(job.job_id, { progress: 42 }) as never,
      headers: {},
    });
    expect(progress.response.status).toBe(200);
    const result = { text: 'hi', segments: [{ start_time: 0, end_time: 1.5, text: 'hi', speaker: 'SPEAKER_00', words: [{ word: 'hi', start: 0, end: 1.5, acoustic_features: { volume_db: -20, pitch_hz: 140 } }] }] };
    const unsigned = callback(job.job_id, { status: 'completed', progress: 100, result });
    const done = await client.POST('/api/upload-video/result', { body: unsigned as never, headers: { 'X-Signature-256': 'sha256=unsigned-backend-allows-it' } });
    // The backend verifies an X-Signature-256 it is given: with no secret configured that is a documented 401.
    expect(done.response.status).toBe(401);
    const viaToken = await client.POST('/api/ml-callback/{callback_token}/api/upload-video/result', { params: { path: { callback_token: token } }, body: unsigned as never });
    expect(viaToken.response.status).toBe(200);
    const final = await ecg.getStatus(job.job_id);
    expect(final.status).toBe('completed');
    expect(final.result?.segments[0]).toMatchObject({ start: 0, end: 1.5, speaker: { speaker_id: 'SPEAKER_00' } });

    const events = await client.GET('/api/upload-video/status/{job_id}/events', { params: { path: { job_id: job.job_id } }, parseAs: 'text' });
    expect(events.response.status).toBe(200);
    expect(String(events.data)).toMatch(/event: status/);

    // A second job, cancelled through the SDK.
    const second = await ecg.requestProcess({ fileKey });
    expect((await ecg.cancel(second.job_id)).status).toBe('cancelled');
    expect((await ecg.getStatus(second.job_id)).status).toBe('cancelled');

    // The rest of the surface, including documented errors.
    expect((await client.GET('/health')).response.status).toBe(200);
    expect((await client.GET('/api/upload-video/ml-server/health')).response.status).toBe(200);
    expect((await client.GET('/api/upload-video/jobs', { params: { query: { limit: 5 } }, headers: { Authorization: `Bearer ${ADMIN_TOKEN}` } })).response.status).toBe(200);
    expect((await client.GET('/api/upload-video/status/{job_id}', { params: { path: { job_id: JOB } } })).response.status).toBe(404);
    expect((await client.POST('/api/upload-video/cancel/{job_id}', { params: { path: { job_id: job.job_id } } })).response.status).toBe(409);

    expect(answers.filter((a) => a.violations !== null).map((a) => `${a.what}: ${a.violations}`)).toEqual([]);
    expect(await violations(px, from)).toEqual([]);
    expect(px.output.join('')).toMatch(/Request received/); // it did see the traffic
  });
});

describe('the proxy check is not vacuous', () => {
  it('Prism flags a backend answer that breaks the spec, in its answer and in its output', async () => {
    const res = await fetch(`${control!.prism.url}/api/upload-video/status/${JOB}`);
    expect(res.status).toBe(500);
    expect(res.headers.get('sl-violations')).toMatch(/required property 'progress'/);
    await res.body?.cancel();
    expect((await violations(control!.prism)).length).toBeGreaterThan(0);
  });
});
