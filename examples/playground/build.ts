/**
 * Bundles the playground (src/main.tsx) for the browser with esbuild: React in production mode,
 * `@ecg/sdk` and its entries from the SDK's sources (so no SDK build step is needed), the CSS
 * beside the script. The backend calls this on the first request of /playground and keeps the
 * result in memory (server/routes/playground.routes.ts).
 */
import { join } from 'node:path';
import type { Plugin } from 'esbuild';

const root = join(import.meta.dirname, '..', '..');

export interface PlaygroundBundle {
  js: string;
  css: string;
}

/** Resolves `@ecg/sdk` and its entries to the SDK's sources. */
const sdkFromSource: Plugin = {
  name: 'ecg-sdk-source',
  setup(b) {
    b.onResolve({ filter: /^@ecg\/sdk(\/[\w.-]+)?$/ }, (args) => ({
      path: join(root, 'sdk', 'src', `${args.path === '@ecg/sdk' ? 'index' : args.path.slice('@ecg/sdk/'.length)}.ts`),
    }));
  },
};

/**
 * Bundles a React page (`entry`) for the browser: ESM for es2022, production React, minified, the SDK
 * from source. The browser tests bundle their own pages with it too.
 */
export async function bundleReactPage(entry: string): Promise<PlaygroundBundle> {
  // esbuild is a development dependency: loaded only when a page is first asked for.
  const { build } = await import('esbuild');
  const out = await build({
    entryPoints: [entry],
    bundle: true,
    format: 'esm',
    platform: 'browser',
    target: 'es2022',
    jsx: 'automatic',
    minify: true,
    write: false,
    outdir: 'out',
    logLevel: 'silent',
    define: { 'process.env.NODE_ENV': '"production"' },
    plugins: [sdkFromSource],
  });
  const file = (ext: string) => out.outputFiles.find((f) => f.path.endsWith(ext))?.text ?? '';
  return { js: file('.js'), css: file('.css') };
}

export function buildPlayground(): Promise<PlaygroundBundle> {
  return bundleReactPage(join(import.meta.dirname, 'src', 'main.tsx'));
}
