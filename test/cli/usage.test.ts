/**
 * What `ecg` does before it gets an answer from a backend: help and version, usage errors (exit 2),
 * and a backend that cannot be reached (exit 3, naming the URL and the cause).
 */
import { readFileSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePort } from '../support/process.js';
import { buildCli, root } from './build.js';
import { runCli } from './run.js';

let cli: string;
let dir: string;
let file: string;
beforeAll(async () => {
  cli = await buildCli();
  dir = await mkdtemp(join(tmpdir(), 'ecg-cli-usage-'));
  file = join(dir, 'talk.mp4');
  await writeFile(file, new Uint8Array(1024).fill(7));
}, 180_000);
afterAll(() => rm(dir, { recursive: true, force: true }));

const ecg = (args: string[], env: Record<string, string> = {}) => runCli(cli, args, env);

describe('help and version', () => {
  it.each([[[]], [['transcribe']], [['status']], [['cancel']], [['jobs']], [['delete']], [['health']]])('ecg %j --help prints its usage on stdout and exits 0', async (command) => {
    const r = await ecg([...command, '--help']);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(new RegExp(`^Usage: ecg ${command.join(' ')}`));
    expect(r.stdout).toMatch(/--base-url <url>/);
  });

  it('lists every option of transcribe in its help', async () => {
    const r = await ecg(['help', 'transcribe']);
    expect(r.code).toBe(0);
    for (const option of ['--language <code>', '--format <format>', '--output <file>', '--no-progress', '--token <token>']) expect(r.stdout).toContain(option);
  });

  it('prints the package version with --version', async () => {
    const { version } = JSON.parse(readFileSync(join(root, 'clients', 'cli', 'package.json'), 'utf8')) as { version: string };
    const r = await ecg(['--version']);
    expect(r).toMatchObject({ code: 0, stdout: `${version}\n` });
  });
});

describe('usage errors exit 2', () => {
  it.each([
    ['no command', [], /Usage: ecg/],
    ['an unknown command', ['transcode', 'x.mp4'], /unknown command 'transcode'/],
    ['an unknown option', ['transcribe', 'x.mp4', '--speed', 'fast'], /unknown option '--speed'/],
    ['a missing file argument', ['transcribe'], /missing required argument 'file'/],
    ['an unknown format', ['transcribe', 'x.mp4', '--format', 'docx'], /Allowed choices are text, json, srt, vtt/],
    ['a missing job id', ['status'], /missing required argument 'job-id'/],
    ['a job id that is not a UUID', ['cancel', '42'], /not a job id/],
    ['a job id to delete that is not a UUID', ['delete', '42'], /not a job id/],
    ['a page size out of range', ['jobs', '--limit', '500'], /--limit: a whole number from 1 to 100/],
    ['an unknown status', ['jobs', '--status', 'done'], /--status: one of pending/],
    ['a base URL that is not http(s)', ['health', '--base-url', 'ftp://example.com'], /--base-url must be an http\(s\) URL/],
  ])('for %s', async (_, args, message) => {
    const r = await ecg(args);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(message);
  });

  it('for a file that does not exist, before anything is sent', async () => {
    const r = await ecg(['transcribe', join(dir, 'missing.mp4'), '--base-url', 'http://127.0.0.1:1']);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain(`no such file: ${join(dir, 'missing.mp4')}`);
  });

  it('for an --output in a directory that does not exist, before anything is sent', async () => {
    const output = join(dir, 'no-such-dir', 'talk.srt');
    const r = await ecg(['transcribe', file, '--output', output, '--base-url', 'http://127.0.0.1:1']);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain(`cannot write --output ${output}: ENOENT`);
  });
});

describe('a backend that cannot be reached exits 3', () => {
  it.each([
    ['transcribe', (f: string) => ['transcribe', f]],
    ['status', () => ['status', '550e8400-e29b-41d4-a716-446655440000']],
    ['cancel', () => ['cancel', '550e8400-e29b-41d4-a716-446655440000']],
    ['jobs', () => ['jobs']],
    ['delete', () => ['delete', '550e8400-e29b-41d4-a716-446655440000']],
    ['health', () => ['health']],
  ])('%s names the URL from --base-url and the cause', async (_, args) => {
    const url = `http://127.0.0.1:${await freePort()}`;
    const r = await ecg([...args(file), '--base-url', url]);
    expect(r.code).toBe(3);
    expect(r.stderr).toContain(`ecg: cannot reach the backend at ${url} (`);
    expect(r.stderr).toMatch(/ECONNREFUSED/);
  });

  it('takes the URL from ECG_BASE_URL when no flag is given', async () => {
    const url = `http://127.0.0.1:${await freePort()}`;
    const r = await ecg(['health'], { ECG_BASE_URL: url });
    expect(r.code).toBe(3);
    expect(r.stderr).toContain(`cannot reach the backend at ${url}`);
  });
});
