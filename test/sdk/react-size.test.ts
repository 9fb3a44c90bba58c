/**
 * The React entry's own weight: built from the current sources into a temporary directory and
 * bundled for the browser with its peers (React, TanStack Query, openapi-react-query) left out, as
 * an app that already has them pays for it. The frontend entry's budget is pinned in size.test.ts;
 * this one also checks that the plain entry pulls in nothing of React.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { build } from 'esbuild';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const root = join(import.meta.dirname, '..', '..');
const PEERS = ['react', 'react-dom', '@tanstack/react-query', 'openapi-react-query'];

async function bundle(entry: string, external: string[]) {
  const out = await build({
    entryPoints: [entry], bundle: true, minify: true, format: 'esm', platform: 'browser', target: 'es2022',
    write: false, metafile: true, logLevel: 'silent', external,
    // The build lives in a temporary directory: resolve the SDK's dependencies from the repository.
    nodePaths: [join(root, 'sdk', 'node_modules'), join(root, 'node_modules')],
  });
  const code = out.outputFiles[0]!.contents;
  const output = Object.values(out.metafile.outputs)[0]!;
  return { gzip: gzipSync(code, { level: 9 }).byteLength, imports: output.imports.map((i) => i.path), inputs: Object.keys(out.metafile.inputs) };
}

describe('the React entry', () => {
  let out = '';
  beforeAll(() => {
    out = mkdtempSync(join(tmpdir(), 'ecg-sdk-react-build-'));
    execFileSync(process.execPath, [join(root, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', join(root, 'sdk', 'tsconfig.build.json'), '--outDir', out], { cwd: root, stdio: 'pipe' });
  }, 120_000);
  afterAll(() => rmSync(out, { recursive: true, force: true }));

  it('bundles under 3 kB gzip with its peers external, importing nothing but them', async () => {
    const { gzip, imports } = await bundle(join(out, 'react.js'), PEERS);
    console.log(`@ecg/sdk/react browser bundle without peers: ${gzip} gzip bytes`);
    expect(gzip).toBeLessThanOrEqual(3072);
    expect([...new Set(imports)].sort()).toEqual(['@tanstack/react-query', 'openapi-react-query', 'react']);
  });

  it('leaves the frontend entry free of React: nothing of the peers is bundled into it', async () => {
    const { inputs } = await bundle(join(out, 'index.js'), []);
    expect(inputs.length).toBeGreaterThan(5);
    expect(inputs.filter((path) => /node_modules\/(react|react-dom|@tanstack|openapi-react-query)\//.test(path))).toEqual([]);
  });
});
