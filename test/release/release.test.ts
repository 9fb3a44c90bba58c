/**
 * The release as an operator gets it: `scripts/release.sh` into an empty folder, then plain `node`
 * on the compiled server from that folder, with nothing from the repository's node_modules in
 * reach (no tsx, no dev dependencies). A file or a dependency the release forgot fails here, not
 * on the operator's server. docs/deploy.md describes the release.
 */
import { type ChildProcess,execFile, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { chmod, mkdtemp, readdir, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { type ScratchDatabase,scratchDatabase } from '../support/db.js';
import { freePort } from '../support/process.js';

const root = join(import.meta.dirname, '..', '..');

/** Newest modification time of the files under `dirs` (0 if none). */
async function newest(dirs: string[]): Promise<number> {
  let latest = 0;
  for (const dir of dirs) {
    const entries = await readdir(join(root, dir), { recursive: true, withFileTypes: true }).catch(() => []);
    for (const e of entries) {
      if (e.isFile()) latest = Math.max(latest, (await stat(join(e.parentPath, e.name))).mtimeMs);
    }
  }
  return latest;
}

/**
 * Whether dist/ is older than the sources it is built from. `npm ci` builds (the root `prepare`
 * script), so in CI the build is fresh and the test reuses it: rebuilding in place while other
 * test files copy the repository would race with them. After an edit, the test rebuilds.
 */
async function buildIsStale(): Promise<boolean> {
  const built = Math.min(
    ...(await Promise.all(['dist/server/main.js', 'sdk/dist/index.js', 'examples/ml-server/dist/server.js'].map((f) => stat(join(root, f)).then((s) => s.mtimeMs, () => 0)))),
  );
  const sources = await newest(['server', 'drizzle', 'sdk/src', 'examples/ml-server/src']);
  return built === 0 || sources > built;
}

interface Started {
  url: string;
  child: ChildProcess;
  output: () => string;
  /** Milliseconds from spawn to the first 200 of /health. */
  healthyAfterMs: number;
  stop(): Promise<number | null>;
}

/** `node dist/server/main.js` in `dir`, with only the environment given (plus PATH and HOME). */
async function startRelease(dir: string, env: Record<string, string>): Promise<Started> {
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  const started = performance.now();
  const child = spawn(process.execPath, ['dist/server/main.js'], {
    cwd: dir,
    // A clean environment: no NODE_OPTIONS from the test runner, no loader, nothing inherited.
    env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? dir, PORT: String(port), HOST: '127.0.0.1', FASTAPI_BASE_URL: url, LOG_LEVEL: 'warn', RATE_LIMIT_PER_MINUTE: '0', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  child.stdout.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr.on('data', (d: Buffer) => (out += d.toString()));
  const exited = new Promise<number | null>((r) => child.once('exit', (code) => r(code)));
  const stop = async () => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
    return exited;
  };
  const deadline = Date.now() + 60_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`the release exited with ${child.exitCode}:\n${out}`);
    const ok = await fetch(`${url}/health`).then((r) => r.status === 200, () => false);
    if (ok) break;
    if (Date.now() > deadline) {
      await stop();
      throw new Error(`the release was not healthy within 60 s:\n${out}`);
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  return { url, child, output: () => out, healthyAfterMs: Math.round(performance.now() - started), stop };
}

async function postJson<T>(url: string, body: unknown): Promise<T> {
  const res = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
  expect(res.status, await res.clone().text()).toBeLessThan(300);
  return (await res.json()) as T;
}

describe('the release folder', () => {
  let dir: string;
  let release: string;

  // The build when needed (three tsc runs) and npm ci from the local cache: about a minute on an
  // idle 2-core machine, three when the rest of the suite runs beside it.
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'ecg-release-'));
    // As root, the embedded PostgreSQL runs as another OS user, which must be able to enter the
    // folder to reach its programs (as it can in /opt or /app).
    await chmod(dir, 0o711);
    release = join(dir, 'app');
    const skipBuild = (await buildIsStale()) ? {} : { SKIP_BUILD: '1' };
    await promisify(execFile)('bash', ['scripts/release.sh', release], { cwd: root, maxBuffer: 64 * 1024 * 1024, env: { ...process.env, ...skipBuild, npm_config_loglevel: 'error' } }).catch((err: Error & { stdout?: string; stderr?: string }) => {
      throw new Error(`scripts/release.sh failed: ${err.message}\n${err.stdout ?? ''}\n${err.stderr ?? ''}`);
    });
  }, 480_000);
  afterAll(async () => {
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('holds compiled JavaScript, the migrations and production dependencies only', async () => {
    expect(existsSync(join(release, 'dist/server/main.js'))).toBe(true);
    expect(existsSync(join(release, 'dist/drizzle/migrations/meta/_journal.json'))).toBe(true);
    expect(existsSync(join(release, 'node_modules/@scalar/api-reference/dist/browser/standalone.js')) || existsSync(join(release, 'node_modules/@scalar/api-reference/browser/standalone.js'))).toBe(true);
    for (const dev of ['tsx', 'vitest', 'drizzle-kit', 'esbuild', '@stoplight/prism-cli']) {
      expect(existsSync(join(release, 'node_modules', dev)), `${dev} is a dev dependency`).toBe(false);
    }
    const manifest = JSON.parse(await readFile(join(release, 'package.json'), 'utf8')) as { scripts: Record<string, string> };
    expect(manifest.scripts).toEqual({ start: 'node dist/server/main.js' });
  });

  describe('started with plain node', () => {
    let db: ScratchDatabase;
    let server: Started | undefined;
    let dataDir: string;

    beforeAll(async () => {
      db = await scratchDatabase('ecg_release');
      dataDir = await mkdtemp(join(tmpdir(), 'ecg-release-data-'));
    });
    afterAll(async () => {
      await server?.stop();
      await db?.drop();
      if (dataDir) await rm(dataDir, { recursive: true, force: true });
    });

    it('migrates a fresh database and completes a job with the reference ML server beside it', async () => {
      server = await startRelease(release, { DATABASE_URL: db.url, DATA_DIR: dataDir });
      process.stdout.write(`release: healthy ${server.healthyAfterMs} ms after spawn (fresh database, migrations included)\n`);
      const b = server.url;

      const up = await postJson<{ upload_url: string; file_key: string; headers: Record<string, string> }>(`${b}/api/upload-video/generate-url`, { filename: 'talk.mp4', content_type: 'video/mp4' });
      const put = await fetch(up.upload_url, { method: 'PUT', headers: up.headers, body: new Uint8Array(8192).fill(7) });
      expect(put.status).toBe(200);
      const { job_id } = await postJson<{ job_id: string }>(`${b}/api/upload-video/request-process`, { fileKey: up.file_key, language: 'auto' });

      let last: { status: string; result?: { segments: unknown[] } } | undefined;
      await vi.waitFor(
        async () => {
          last = (await (await fetch(`${b}/api/upload-video/status/${job_id}`)).json()) as typeof last;
          expect(last?.status).toBe('completed');
        },
        { timeout: 60_000, interval: 250 },
      );
      expect(last?.result?.segments.length).toBeGreaterThan(0);
    }, 120_000);

    it('serves the specs and the API reference from its own files', async () => {
      expect(server, 'started by the previous test').toBeDefined();
      const b = server!.url;
      for (const version of ['v1.0', 'v1.1']) {
        const spec = await fetch(`${b}/openapi/${version}.json`);
        expect(spec.status).toBe(200);
        expect(((await spec.json()) as { openapi: string }).openapi).toMatch(/^3\.1/);
      }
      const docs = await fetch(`${b}/docs`);
      expect(docs.status).toBe(200);
      const script = await fetch(`${b}/docs/scalar.js`);
      expect(script.status).toBe(200);
      expect((await script.text()).length).toBeGreaterThan(100_000);
    });

    it('stops cleanly on SIGTERM', async () => {
      expect(await server!.stop()).toBe(0);
      server = undefined;
    });
  });

  it('runs on its own embedded PostgreSQL when no DATABASE_URL is set', async () => {
    const dataDir = await mkdtemp(join(tmpdir(), 'ecg-release-embedded-'));
    try {
      const s = await startRelease(release, { DATA_DIR: dataDir, MODEL_SERVER_URL: 'http://127.0.0.1:9' });
      const health = (await (await fetch(`${s.url}/health`)).json()) as { checks: { database: { status: string } } };
      expect(health.checks.database.status).toBe('up');
      expect(await s.stop()).toBe(0);
    } finally {
      await rm(dataDir, { recursive: true, force: true });
    }
  }, 120_000);
});
