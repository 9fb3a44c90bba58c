#!/usr/bin/env node
/**
 * Bundle-size and browser-safety check of the frontend entry (`@ecg/sdk`, built `dist/index.js`).
 *
 * Bundles it with esbuild for the browser (bundle + minify, ESM), gzips the result, and fails
 * (exit code 1) when the gzip size is over the budget (10 240 bytes by default, or the first
 * argument) or when the bundle would import a Node built-in (`node:*`, `fs`, `path`, ...).
 * Prints one JSON line: { bytes, gzipBytes, budget, nodeImports, ok }.
 *
 * Usage: node sdk/scripts/size.mjs [budgetBytes] [entry]   (run `npm run build -w @ecg/sdk` first)
 */
import { existsSync } from 'node:fs';
import { builtinModules } from 'node:module';
import { fileURLToPath } from 'node:url';
import { gzipSync } from 'node:zlib';
import * as esbuild from 'esbuild';

const entry = process.argv[3] ?? fileURLToPath(new URL('../dist/index.js', import.meta.url));
const budget = Number(process.argv[2] ?? 10_240);

if (!existsSync(entry)) {
  console.error(`size: ${entry} does not exist; run \`npm run build -w @ecg/sdk\` first.`);
  process.exit(2);
}

const builtins = new Set(builtinModules.flatMap((m) => [m, `node:${m}`]));
const nodeImports = new Set();

const result = await esbuild.build({
  entryPoints: [entry],
  bundle: true,
  minify: true,
  format: 'esm',
  platform: 'browser',
  target: 'es2022',
  write: false,
  logLevel: 'silent',
  metafile: true,
  // Lets an entry built elsewhere (a temporary directory) resolve the SDK's dependencies.
  nodePaths: [fileURLToPath(new URL('../node_modules', import.meta.url)), fileURLToPath(new URL('../../node_modules', import.meta.url))],
  plugins: [
    {
      name: 'flag-node-builtins',
      setup(build) {
        build.onResolve({ filter: /.*/ }, (args) => {
          if (args.path.startsWith('node:') || builtins.has(args.path)) {
            nodeImports.add(`${args.path} (from ${args.importer})`);
            return { path: args.path, external: true };
          }
          return undefined;
        });
      },
    },
  ],
});

const code = result.outputFiles[0]?.contents ?? new Uint8Array();
// Belt and braces: a literal `node:` specifier that esbuild left in the output.
for (const m of new TextDecoder().decode(code).matchAll(/(?:from|import\()\s*["'](node:[\w/]+)["']/g)) nodeImports.add(`${m[1]} (in output)`);
const gzipBytes = gzipSync(code, { level: 9 }).byteLength;
const ok = gzipBytes <= budget && nodeImports.size === 0;
console.log(JSON.stringify({ bytes: code.byteLength, gzipBytes, budget, nodeImports: [...nodeImports], ok }));
if (!ok) {
  if (gzipBytes > budget) console.error(`size: ${gzipBytes} gzip bytes is over the budget of ${budget}.`);
  if (nodeImports.size > 0) console.error(`size: the browser bundle imports Node built-ins: ${[...nodeImports].join(', ')}`);
  process.exit(1);
}
