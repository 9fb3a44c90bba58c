/**
 * Ctrl-C during the upload. The real backend's storage takes a few megabytes in milliseconds, so
 * this test gives the CLI a stand-in backend whose storage accepts the PUT and then reads nothing:
 * the upload stalls part-way, with its bar on screen, until Ctrl-C aborts it.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { buildCli } from './build.js';
import { keepScreen } from './screens.js';
import { haveTmux, runInTerminal } from './tmux.js';

describe.skipIf(!haveTmux())('ecg transcribe interrupted during the upload', () => {
  let cli: string;
  let dir: string;
  let server: Server;
  let baseUrl: string;
  const requests: string[] = [];
  const puts: IncomingMessage[] = [];

  beforeAll(async () => {
    cli = await buildCli();
    dir = await mkdtemp(join(tmpdir(), 'ecg-cli-upload-'));
    server = createServer((req, res) => {
      requests.push(`${req.method} ${req.url} ${req.headers.authorization ?? '(no token)'}`);
      if (req.method === 'POST' && req.url === '/api/upload-video/generate-url') {
        const upload = `${baseUrl}/storage/videos/anonymous/stalled.mp4`;
        res.writeHead(200, { 'Content-Type': 'application/json' });
        res.end(
          JSON.stringify({
            upload_url: upload,
            url: upload,
            presigned_url: upload,
            fileKey: 'videos/anonymous/stalled.mp4',
            file_key: 'videos/anonymous/stalled.mp4',
            method: 'PUT',
            headers: { 'Content-Type': 'video/mp4' },
            content_type: 'video/mp4',
            expires_in: 3600,
          }),
        );
      } else if (req.method === 'PUT') {
        // Read nothing: once the socket buffers are full, the client cannot send more.
        req.pause();
        puts.push(req);
      } else {
        res.writeHead(404).end();
      }
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    baseUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  }, 180_000);
  afterAll(async () => {
    server?.closeAllConnections();
    await new Promise((resolve) => server?.close(resolve));
    await rm(dir, { recursive: true, force: true });
  });

  it('aborts the upload on Ctrl-C, requests no processing and exits 130; the token went to the backend only', async () => {
    const file = join(dir, 'stalled.mp4');
    await writeFile(file, Buffer.alloc(64 * 1024 * 1024, 1));
    const term = runInTerminal(dir, [process.execPath, cli, 'transcribe', file], { ECG_BASE_URL: baseUrl, ECG_TOKEN: 'cli-test-token' });
    try {
      await vi.waitFor(() => expect(puts).toHaveLength(1), { timeout: 30_000 });
      // The PUT has begun and stalled part-way (the bar shows the last count the SDK reported).
      const frame = await term.waitForScreen((s) => /^Upload +█*░+ +\d+% \| [\d.]+ [kM]?B \/ 67\.1 MB \|/m.test(s));
      keepScreen('upload-interrupt-before', frame);
      const put = puts[0]!;

      term.sendKeys('C-c');
      expect(await term.exitCode()).toBe(130);
      const last = term.screen();
      keepScreen('upload-interrupt-after', last);
      expect(last).toContain('Interrupted: the upload was aborted.');
      // Reading what was buffered shows the connection dropped with the body unfinished.
      const closed = new Promise<boolean>((resolve) => put.once('close', () => resolve(put.complete)));
      put.resume();
      expect(await closed).toBe(false);
      // No job was asked for, and the signed storage URL never saw the bearer token.
      expect(requests).toEqual([
        'POST /api/upload-video/generate-url Bearer cli-test-token',
        'PUT /storage/videos/anonymous/stalled.mp4 (no token)',
      ]);
    } finally {
      term.close();
    }
  }, 60_000);
});
