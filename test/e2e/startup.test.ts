/**
 * What a person reads when the service cannot start, and how it stops: each failure is one line with
 * the fix and exit code 1, and leaves no process behind; SIGTERM to `npm start` drains the server and
 * stops the embedded PostgreSQL (server/startup-errors.ts, server/parent-watch.ts).
 */
import { spawn } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { testDatabaseUrl } from '../support/db.js';
import { freePort } from '../support/process.js';

const root = join(import.meta.dirname, '..', '..');
let dataDir: string;

beforeEach(async () => {
  dataDir = await mkdtemp(join(tmpdir(), 'ecg-startup-'));
});
afterEach(async () => {
  await rm(dataDir, { recursive: true, force: true });
});

/** Runs the server to its exit; returns the exit code and everything it printed. */
function runToExit(env: Record<string, string>, timeoutMs = 90_000): Promise<{ code: number | null; out: string; err: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', 'server/main.ts'], {
      cwd: root,
      env: { ...process.env, DATA_DIR: dataDir, HOST: '127.0.0.1', LOG_LEVEL: 'warn', MODEL_SERVER_URL: 'http://127.0.0.1:9', ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    let err = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (err += d.toString()));
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`still running after ${timeoutMs} ms:\n${out}\n${err}`));
    }, timeoutMs);
    child.once('exit', (code) => {
      clearTimeout(timer);
      resolve({ code, out, err });
    });
  });
}

/** Processes whose command line mentions `text` (the data directory of an embedded PostgreSQL). */
function processesMentioning(text: string): number[] {
  const found: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      if (readFileSync(`/proc/${entry}/cmdline`, 'utf8').includes(text)) found.push(Number(entry));
    } catch {
      // gone meanwhile
    }
  }
  return found;
}

const noStackTrace = (text: string) => expect(text).not.toMatch(/^\s+at /m);

describe('start-up failures', () => {
  it('names an unreachable database and how to fix it, in one line, exit 1', async () => {
    const port = await freePort();
    const { code, err } = await runToExit({ PORT: String(await freePort()), DATABASE_URL: `postgres://postgres@127.0.0.1:${port}/ecg` });
    expect(code).toBe(1);
    expect(err.trim().split('\n')).toEqual([`ECG backend cannot start: The database at 127.0.0.1:${port}/ecg refused the connection: start PostgreSQL there, or fix DATABASE_URL (or unset it to use the embedded PostgreSQL).`]);
  }, 60_000);

  it('names a missing database with the createdb command that makes it', async () => {
    const url = new URL(testDatabaseUrl());
    url.pathname = '/ecg_missing_database';
    const { code, err } = await runToExit({ PORT: String(await freePort()), DATABASE_URL: url.toString() });
    expect(code).toBe(1);
    expect(err).toMatch(/The database "ecg_missing_database" does not exist on .*: create it \(createdb -h \S+ -p \d+ -U \S+ ecg_missing_database\)/);
    noStackTrace(err);
  }, 60_000);

  it('refuses PORT=99999 at configuration time', async () => {
    const { code, err } = await runToExit({ PORT: '99999', DATABASE_URL: testDatabaseUrl() });
    expect(code).toBe(1);
    expect(err).toContain('PORT: must be a port number between 0 and 65535');
    noStackTrace(err);
  }, 60_000);

  it('refuses the reference ML server in production unless allowed', async () => {
    const { code, err } = await runToExit({ NODE_ENV: 'production', MODEL_SERVER_URL: '', DATABASE_URL: testDatabaseUrl(), PORT: String(await freePort()) });
    expect(code).toBe(1);
    expect(err).toContain('NODE_ENV=production and no MODEL_SERVER_URL');
    expect(err).toContain('ALLOW_REFERENCE_ML_SERVER=true');
  }, 60_000);

  it('says the port is taken, exits 1 and stops the embedded PostgreSQL it had started', async () => {
    const blocker: Server = createServer();
    const port = await new Promise<number>((r) => blocker.listen(0, '127.0.0.1', () => r((blocker.address() as { port: number }).port)));
    try {
      const { code, err } = await runToExit({ PORT: String(port), DATABASE_URL: '' }, 180_000);
      expect(code).toBe(1);
      expect(err).toContain(`ECG backend cannot start: Port ${port} is already in use on 127.0.0.1: stop the other process (lsof -i :${port}) or choose another PORT.`);
      noStackTrace(err);
      await vi.waitFor(() => expect(processesMentioning(dataDir)).toEqual([]), { timeout: 15_000, interval: 200 });
    } finally {
      blocker.close();
    }
  }, 240_000);
});

describe('npm start and SIGTERM', () => {
  it('drains the server and stops the embedded PostgreSQL when the npm process is sent SIGTERM', async () => {
    const port = await freePort();
    // As the README says: `npm start`, no configuration but the port (and a data directory of its own).
    const npm = spawn('npm', ['start'], {
      cwd: root,
      env: { ...process.env, PORT: String(port), HOST: '127.0.0.1', DATA_DIR: dataDir, DATABASE_URL: '', MODEL_SERVER_URL: '', LOG_LEVEL: 'info' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    npm.stdout.on('data', (d: Buffer) => (out += d.toString()));
    npm.stderr.on('data', (d: Buffer) => (out += d.toString()));
    try {
      await vi.waitFor(() => expect(out).toMatch(/"msg":"ECG backend listening on http:\/\/127\.0\.0\.1:\d+"/), { timeout: 180_000, interval: 200 });
      // The reference ML server is impossible to miss: a warning at start, named in /health.
      expect(out).toMatch(/"level":"warn","msg":"MODEL_SERVER_URL is not set: jobs go to the reference ML server, whose transcripts are MADE UP/);
      const health = (await (await fetch(`http://127.0.0.1:${port}/health`)).json()) as { ml_server?: { reference: boolean; name?: string } };
      expect(health.ml_server).toMatchObject({ reference: true, name: expect.stringContaining('made-up') });
      expect(processesMentioning(dataDir).length).toBeGreaterThan(0); // the embedded PostgreSQL runs

      npm.kill('SIGTERM');
      await vi.waitFor(
        async () => {
          expect(processesMentioning(dataDir)).toEqual([]);
          await expect(fetch(`http://127.0.0.1:${port}/livez`)).rejects.toThrow();
        },
        { timeout: 30_000, interval: 250 },
      );
      expect(out).toContain('"msg":"stopped"');
    } finally {
      if (npm.exitCode === null) npm.kill('SIGKILL');
      for (const pid of processesMentioning(dataDir)) process.kill(pid, 'SIGKILL');
    }
  }, 240_000);
});
