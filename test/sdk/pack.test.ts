/**
 * The published package, as a consumer gets it: `npm pack` the SDK, install the tarball with
 * TypeScript ~5.9 into a fresh project outside this repository (no workspace resolution), then
 * - type-check test/fixtures/consumer/consumer.ts (NodeNext, strict, exactOptionalPropertyTypes,
 *   no Node types, skipLibCheck off) and compile it,
 * - check that test/fixtures/consumer/wrong.ts fails exactly on its `// WRONG` lines,
 * - run the compiled consumer (all three entries, ESM in Node) against a fake backend.
 *
 * The package is built from the current sources into a staging copy (never touching sdk/dist,
 * which other tests and workspaces may be reading) and packed with the same `files` list.
 */
import { execFile } from 'node:child_process';
import { cp, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { Hono } from 'hono';
import { Webhook } from 'standardwebhooks';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { eventStream, jobStatus,listen, sampleResult, sse } from './helpers.js';

const run = promisify(execFile);
const root = join(import.meta.dirname, '..', '..');
const fixture = join(root, 'test', 'fixtures', 'consumer');
const SECRET = 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw';

let work = '';
let project = '';

beforeAll(async () => {
  work = await mkdtemp(join(tmpdir(), 'ecg-sdk-pack-'));
  const staging = join(work, 'staging');
  project = join(work, 'consumer');
  await mkdir(staging, { recursive: true });
  await mkdir(project, { recursive: true });

  // Build + pack (as `npm pack` in sdk/ would, via prepack), from a staging copy.
  await cp(join(root, 'sdk', 'package.json'), join(staging, 'package.json'));
  await cp(join(root, 'sdk', 'README.md'), join(staging, 'README.md')).catch(() => {});
  await run(process.execPath, [join(root, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', join(root, 'sdk', 'tsconfig.build.json'), '--outDir', join(staging, 'dist')]);
  const packed = await run('npm', ['pack', staging, '--ignore-scripts', '--json', '--pack-destination', work], { cwd: work });
  const [info] = JSON.parse(packed.stdout) as { filename: string; files: { path: string }[] }[];
  const tarball = join(work, info!.filename);
  expect(info!.files.map((f) => f.path)).toContain('dist/index.d.ts');
  expect(info!.files.some((f) => f.path.startsWith('src/'))).toBe(false);

  // A fresh project: no workspace above it, deps from the npm cache when possible.
  await writeFile(join(project, 'package.json'), JSON.stringify({ name: 'ecg-sdk-consumer', private: true, type: 'module' }, null, 2));
  for (const f of ['consumer.ts', 'wrong.ts', 'run.mjs', 'tsconfig.json', 'tsconfig.wrong.json']) await cp(join(fixture, f), join(project, f));
  await run('npm', ['install', tarball, 'typescript@~5.9', '--prefer-offline', '--no-audit', '--no-fund', '--loglevel=error'], {
    cwd: project,
    env: { ...process.env, npm_config_workspaces: 'false' },
  });
}, 120_000);

afterAll(async () => {
  if (work) await rm(work, { recursive: true, force: true });
});

const tsc = (args: string[]) =>
  run(process.execPath, [join(project, 'node_modules', 'typescript', 'bin', 'tsc'), ...args], { cwd: project }).then(
    (r) => ({ code: 0, out: r.stdout + r.stderr }),
    (e: { code?: number; stdout?: string; stderr?: string }) => ({ code: e.code ?? 1, out: `${e.stdout ?? ''}${e.stderr ?? ''}` }),
  );

describe('@ecg/sdk tarball', () => {
  it('installs with TypeScript 5.9 and the consumer type-checks and compiles', async () => {
    const version = JSON.parse(await readFile(join(project, 'node_modules', 'typescript', 'package.json'), 'utf8')) as { version: string };
    expect(version.version).toMatch(/^5\.9\./);
    const result = await tsc(['-p', 'tsconfig.json']);
    expect(result.out).toBe('');
    expect(result.code).toBe(0);
  });

  it('rejects a wrong path, path parameter, body field and argument, exactly on the marked lines', async () => {
    const result = await tsc(['-p', 'tsconfig.wrong.json']);
    expect(result.code).not.toBe(0);
    const source = (await readFile(join(project, 'wrong.ts'), 'utf8')).split('\n');
    const marked = source.flatMap((line, i) => (line.includes('// WRONG') ? [i + 1] : []));
    const errorLines = [...new Set([...result.out.matchAll(/^wrong\.ts\((\d+),\d+\): error/gm)].map((m) => Number(m[1])))].sort((a, b) => a - b);
    expect(marked.length).toBeGreaterThanOrEqual(6);
    expect(errorLines).toEqual(marked);
  });

  it('runs: upload, process, wait, signed callbacks and the raw client, against a fake backend', async () => {
    const app = new Hono();
    const job = '550e8400-e29b-41d4-a716-446655440000';
    const puts: { type: string | null; auth: string | null; size: number }[] = [];
    const callbacks: unknown[] = [];
    app.post('/api/upload-video/generate-url', async (c) => {
      const { filename } = await c.req.json<{ filename: string }>();
      const url = `${new URL(c.req.url).origin}/storage/videos/anonymous/${filename}`;
      return c.json({
        presigned_url: url, upload_url: url, url, file_key: `videos/anonymous/${filename}`, fileKey: `videos/anonymous/${filename}`,
        expires_in: 3600, method: 'PUT', headers: { 'Content-Type': 'video/mp4' }, content_type: 'video/mp4', max_bytes: 1e9,
      });
    });
    app.put('/storage/*', async (c) => {
      puts.push({ type: c.req.header('content-type') ?? null, auth: c.req.header('authorization') ?? null, size: (await c.req.arrayBuffer()).byteLength });
      return c.body(null, 200);
    });
    app.post('/api/upload-video/request-process', (c) =>
      c.json({ job_id: job, status: 'pending', message: 'queued', estimated_time: 30, status_url: `/api/upload-video/status/${job}` }),
    );
    app.get('/api/upload-video/status/:id/events', () =>
      eventStream([sse(jobStatus(job, 'processing', 50)), sse(jobStatus(job, 'completed', 100, { result: sampleResult }))]),
    );
    app.post('/api/upload-video/result', async (c) => {
      const raw = await c.req.text();
      callbacks.push(new Webhook(SECRET).verify(raw, Object.fromEntries(c.req.raw.headers.entries())));
      return c.json({ status: 'received' });
    });
    app.get('/api/upload-video/ml-server/health', (c) => c.json({ status: 'healthy', response_time_ms: 3, http_status: 200 }));
    const served = await listen(app);
    try {
      const { stdout } = await run(process.execPath, ['run.mjs', served.url, served.url, SECRET], { cwd: project });
      const out = JSON.parse(stdout) as {
        run: { fileKey: string; statuses: string[]; uploadProgress: number[]; final: { status: string }; transcript: string };
        acks: { status: string }[];
        health: string;
      };
      expect(out.run.fileKey).toBe('videos/anonymous/consumer.mp4');
      expect(out.run.final.status).toBe('completed');
      expect(out.run.transcript).toBe(sampleResult.text);
      expect(out.run.statuses).toEqual(['processing:50', 'completed:100']);
      expect(out.run.uploadProgress.at(-1)).toBe(100);
      expect(puts).toEqual([{ type: 'video/mp4', auth: null, size: 4096 }]);
      expect(out.acks).toEqual([{ status: 'received' }, { status: 'received' }]);
      expect(callbacks).toHaveLength(2);
      expect(out.health).toBe('healthy');
    } finally {
      await served.close();
    }
  });

  it('runs against the live backend: the real app over HTTP, a real Postgres, embedded storage and an ML server answering through callbacks', async () => {
    const { serve } = await import('@hono/node-server');
    const { createTestApp } = await import('../support/app.js');
    const { freePort } = await import('../support/process.js');
    const { createCallbackClient } = await import('@ecg/sdk/ml-server');
    const port = await freePort();
    const base = `http://127.0.0.1:${port}`;
    const t = await createTestApp({ FASTAPI_BASE_URL: base, WEBHOOK_SECRET: SECRET }, (body) => {
      // The ML server's side: accept, then report progress and the result through the callback base.
      const cb = createCallbackClient({ baseUrl: String(body.fastapi_base_url) });
      setTimeout(() => void cb.progress(String(body.job_id), 40, 'Identifying speakers').then(() => cb.completed(String(body.job_id), sampleResult)), 50);
      return Response.json({ job_id: body.job_id, status: 'processing' });
    }, { isolatedDatabase: true }); // its dispatcher runs: it must not see other files' jobs
    const server = serve({ fetch: t.app.fetch, port, hostname: '127.0.0.1' });
    t.dispatcher.start(100);
    try {
      const { stdout } = await run(process.execPath, ['run.mjs', base, base, SECRET], { cwd: project });
      const out = JSON.parse(stdout) as { run: { fileKey: string; final: { status: string }; transcript: string; uploadProgress: number[] }; acks: { status: string }[]; health: string };
      expect(out.run.fileKey).toMatch(/^videos\/anonymous\/\d{8}_\d{6}_[0-9a-f]{8}_consumer\.mp4$/);
      expect(out.run.final.status).toBe('completed');
      expect(out.run.transcript).toBe(sampleResult.text);
      expect(out.run.uploadProgress.at(-1)).toBe(100);
      // Its own signed callbacks arrive after the job completed: authenticated, answered 200, ignored.
      expect(out.acks.map((a) => a.status)).toEqual(['ignored', 'ignored']);
      expect(out.health).toBe('healthy');
    } finally {
      await new Promise((r) => server.close(r));
      await t.close();
    }
  }, 90_000);
});
