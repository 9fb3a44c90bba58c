/**
 * What the React browser tests share: the real app over HTTP with the reference ML server
 * (examples/ml-server) beside it, a bundler for React pages using the SDK from source, and
 * Chromium. Under `CI=true` a missing Chromium is a failure, not a skip.
 */
import { existsSync } from 'node:fs';
import { serve } from '@hono/node-server';
import { type Browser,chromium } from 'playwright-core';
import { type ReferenceMlServer,startReferenceMlServer } from '../../examples/ml-server/src/server.js';
import { bundleReactPage } from '../../examples/playground/build.js';
import { createTestApp, type TestApp } from '../support/app.js';
import { freePort } from '../support/process.js';

export const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
export const haveBrowser = existsSync(CHROMIUM);
/** In CI the browser tests must run: a missing Chromium fails them. */
export const skipBrowser = !haveBrowser && process.env.CI !== 'true';
if (skipBrowser) console.warn(`React browser tests skipped: no Chromium at ${CHROMIUM}`);

export interface LiveBackend {
  url: string;
  t: TestApp;
  ml: ReferenceMlServer;
  close(): Promise<void>;
}

/**
 * The app on a free port of 127.0.0.1, with its dispatcher running on a database of its own, and
 * the reference ML server (over real HTTP) downloading from its storage and calling it back.
 */
export async function startLiveBackend(env: Record<string, string> = {}): Promise<LiveBackend> {
  const ml = await startReferenceMlServer({ behaviour: { stepDelayMs: 150 } });
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  const t = await createTestApp(
    { FASTAPI_BASE_URL: url, ...env },
    (body) =>
      fetch(`${ml.url}/api/upload-video/process-video`, {
        method: 'POST',
        headers: { 'Content-Type': 'application/json' },
        body: JSON.stringify(body),
      }),
    { isolatedDatabase: true },
  );
  const server = serve({ fetch: t.app.fetch, port, hostname: '127.0.0.1' });
  t.dispatcher.start(100);
  return {
    url,
    t,
    ml,
    async close() {
      await ml.close();
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        (server as { closeAllConnections?: () => void }).closeAllConnections?.();
      });
      await t.close();
    },
  };
}

/** Bundles a React page for the browser (production React, ESM), as the playground is bundled. */
export async function bundlePage(entry: string): Promise<string> {
  return (await bundleReactPage(entry)).js;
}

export function launchChromium(): Promise<Browser> {
  if (!haveBrowser) throw new Error(`No Chromium at ${CHROMIUM}: install it (apt-get install chromium) or set CHROMIUM_PATH.`);
  return chromium.launch({
    executablePath: CHROMIUM,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
}
