/**
 * Bundle-size and browser-safety check of the frontend entry: builds the SDK from the current
 * sources into a temporary directory (never touching sdk/dist, which other tests may be reading),
 * then runs sdk/scripts/size.mjs on it (esbuild, platform browser, minified; gzip budget 10 240
 * bytes; no `node:` built-ins), on the subtitles entry (2 048 bytes) and on the webhooks entry (6 144 bytes: the `standardwebhooks` package, which hashes in plain JavaScript so that `verifyWebhook` can be synchronous). Also checks that the
 * checker does catch a Node built-in.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const root = join(import.meta.dirname, '..', '..');
const script = join(root, 'sdk', 'scripts', 'size.mjs');

describe('sdk bundle size', () => {
  let out = '';
  beforeAll(() => {
    out = mkdtempSync(join(tmpdir(), 'ecg-sdk-build-'));
    const tsc = join(root, 'node_modules', 'typescript', 'bin', 'tsc');
    execFileSync(process.execPath, [tsc, '-p', join(root, 'sdk', 'tsconfig.build.json'), '--outDir', out], { cwd: root, stdio: 'pipe' });
  });
  afterAll(() => rmSync(out, { recursive: true, force: true }));

  it('bundles for the browser under 10 kB gzip, with no Node built-in', () => {
    const run = spawnSync(process.execPath, [script, '10240', join(out, 'index.js')], { cwd: root, encoding: 'utf8' });
    const report = JSON.parse(run.stdout.trim().split('\n').at(-1) ?? '{}') as { gzipBytes: number; nodeImports: string[]; ok: boolean };
    console.log(`@ecg/sdk browser bundle: ${run.stdout.trim()}`);
    expect(run.stderr).toBe('');
    expect(report.nodeImports).toEqual([]);
    expect(report.gzipBytes).toBeLessThanOrEqual(10_240);
    expect(report.ok).toBe(true);
    expect(run.status).toBe(0);
  });

  it('bundles the subtitles entry (not part of the frontend entry) under 2 kB gzip, with no Node built-in', () => {
    const run = spawnSync(process.execPath, [script, '2048', join(out, 'subtitles.js')], { cwd: root, encoding: 'utf8' });
    const report = JSON.parse(run.stdout.trim().split('\n').at(-1) ?? '{}') as { gzipBytes: number; nodeImports: string[]; ok: boolean };
    console.log(`@ecg/sdk/subtitles browser bundle: ${run.stdout.trim()}`);
    expect(report.nodeImports).toEqual([]);
    expect(report.gzipBytes).toBeLessThanOrEqual(2048);
    expect(run.status).toBe(0);
  });

  it('bundles the webhooks entry (for receivers, not part of the frontend entry) under 6 kB gzip, with no Node built-in', () => {
    const run = spawnSync(process.execPath, [script, '6144', join(out, 'webhooks.js')], { cwd: root, encoding: 'utf8' });
    const report = JSON.parse(run.stdout.trim().split('\n').at(-1) ?? '{}') as { gzipBytes: number; nodeImports: string[]; ok: boolean };
    console.log(`@ecg/sdk/webhooks browser bundle: ${run.stdout.trim()}`);
    expect(report.nodeImports).toEqual([]);
    expect(report.gzipBytes).toBeLessThanOrEqual(6144);
    expect(run.status).toBe(0);
  });

  it('fails on a bundle that imports a Node built-in', () => {
    const dir = mkdtempSync(join(tmpdir(), 'ecg-size-'));
    try {
      const entry = join(dir, 'entry.mjs');
      writeFileSync(entry, 'export const read = () => import("node:fs");\n');
      const run = spawnSync(process.execPath, [script, '10240', entry], { encoding: 'utf8' });
      expect(run.status).toBe(1);
      expect(run.stderr).toMatch(/node:fs/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
