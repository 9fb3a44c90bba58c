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

const sdkFromSource: Plugin = {
  name: 'ecg-sdk-source',
  setup(b) {
    b.onResolve({ filter: /^@ecg\/sdk(\/[\w.-]+)?$/ }, (args) => ({
      path: join(root, 'sdk', 'src', `${args.path === '@ecg/sdk' ? 'index' : args.path.slice('@ecg/sdk/'.length)}.ts`),
    }));
  },
};

export async function buildPlayground(): Promise<PlaygroundBundle> {
  // esbuild is a development dependency: loaded only when the page is first asked for.
  const { build } = await import('esbuild');
  const out = await build({
    entryPoints: [join(import.meta.dirname, 'src', 'main.tsx')],
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
