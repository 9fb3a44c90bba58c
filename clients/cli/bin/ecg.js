#!/usr/bin/env node
// The `ecg` command. It runs the compiled CLI, which `npm run build -w @ecg/cli` writes to dist/;
// this file exists before any build, so `npm ci` can link it into node_modules/.bin.
import { access } from 'node:fs/promises';

const main = new URL('../dist/main.js', import.meta.url);
try {
  await access(main);
} catch {
  process.stderr.write('ecg: not built yet: run `npm run build -w @ecg/sdk && npm run build -w @ecg/cli`\n');
  process.exit(1);
}
await import(main.href);
