/**
 * Callbacks whose headers cannot authenticate them, against the backend as a process: each is
 * answered 401 and the connection closed before its body is sent, so a 50 MB body is never read
 * (docs/security.md). Each client announces 50 MB and sends nothing more; the answer must come anyway.
 */
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runMigrations } from '../../server/db/migrate.js';
import { type ScratchDatabase, scratchDatabase } from '../support/db.js';
import { type Proc, startBackend } from '../support/process.js';

const FIFTY_MB = 50 * 1024 * 1024;
let db: ScratchDatabase;
let dataDir: string;
let backend: Proc;

beforeAll(async () => {
  db = await scratchDatabase('ecg_security_bodies');
  await runMigrations(db.url);
  dataDir = await mkdtemp(join(tmpdir(), 'ecg-security-bodies-'));
  backend = await startBackend({ DATABASE_URL: db.url, DATA_DIR: dataDir, MODEL_SERVER_URL: 'http://127.0.0.1:9', WEBHOOK_SECRET: 'a-webhook-secret-for-the-body-tests' });
}, 120_000);
afterAll(async () => {
  await backend?.kill('SIGKILL');
  await db?.drop();
  await rm(dataDir, { recursive: true, force: true });
}, 60_000);

/** Sends only the head of a POST announcing a large body; resolves with what came back and whether the socket closed. */
function headOnly(path: string, headers: Record<string, string>, chunked = false): Promise<{ response: string; closedMs: number }> {
  return new Promise((resolve, reject) => {
    const started = Date.now();
    const socket = net.connect(backend.port, '127.0.0.1');
    let data = '';
    socket.on('data', (d: Buffer) => (data += d.toString('latin1')));
    socket.on('error', () => {});
    socket.once('close', () => resolve({ response: data, closedMs: Date.now() - started }));
    socket.once('connect', () => {
      const lines = [`POST ${path} HTTP/1.1`, 'Host: localhost', 'Content-Type: application/json', ...Object.entries(headers).map(([k, v]) => `${k}: ${v}`)];
      lines.push(chunked ? 'Transfer-Encoding: chunked' : `Content-Length: ${FIFTY_MB}`);
      // A chunked client shows the first chunk, the rest would follow.
      socket.write(`${lines.join('\r\n')}\r\n\r\n${chunked ? '10\r\n{"job_id":"x"   \r\n' : '{"job_id":'}`);
    });
    setTimeout(() => {
      socket.destroy();
      reject(new Error(`no answer within 5 s; got ${JSON.stringify(data.slice(0, 200))}`));
    }, 5000).unref();
  });
}

async function rssKb(): Promise<number> {
  const status = await readFile(`/proc/${backend.child.pid}/status`, 'utf8');
  return Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? 0);
}

describe('a callback that cannot be authenticated is refused before its body is read', () => {
  const cases: Array<[string, string, Record<string, string>, boolean?]> = [
    ['an unsigned post to the signed path', '/api/upload-video/result', {}],
    ['an unsigned chunked post to the legacy path', '/api/v1/ml/ml-results', {}, true],
    ['a Standard Webhooks signature an hour old', '/api/upload-video/result', { 'webhook-id': 'msg_1', 'webhook-timestamp': String(Math.floor(Date.now() / 1000) - 3600), 'webhook-signature': 'v1,AAAA' }],
    ['a Standard Webhooks signature without its id', '/api/upload-video/result', { 'webhook-timestamp': String(Math.floor(Date.now() / 1000)), 'webhook-signature': 'v1,AAAA' }],
    ['a malformed X-Signature-256', '/api/v1/ml/ml-results', { 'X-Signature-256': 'sha256=nothex' }],
    ['a post to an unknown per-job token', '/api/ml-callback/unknown-token-0123456789abcdef/api/upload-video/result', {}],
    ['a chunked post to an unknown per-job token', '/api/ml-callback/unknown-token-0123456789abcdef/api/v1/ml/ml-results', {}, true],
  ];

  it.each(cases)('answers 401 and closes the connection for %s, with only the head sent', async (_name, path, headers, chunked) => {
    const { response, closedMs } = await headOnly(path, headers, chunked);
    expect(response).toMatch(/^HTTP\/1\.1 401/);
    expect(response).toMatch(/connection: close/i);
    expect(response).toContain('"UNAUTHORIZED"');
    expect(closedMs).toBeLessThan(3000);
  });

  it('keeps its memory while eight clients announce 50 MB to a bogus token and eight to the signed path', async () => {
    const before = await rssKb();
    const answers = await Promise.all([
      ...Array.from({ length: 8 }, () => headOnly('/api/ml-callback/bogus-token-0123456789abcdef/api/upload-video/result', {})),
      ...Array.from({ length: 8 }, () => headOnly('/api/upload-video/result', {})),
    ]);
    for (const a of answers) expect(a.response).toMatch(/^HTTP\/1\.1 401/);
    const after = await rssKb();
    // Buffering the bodies would take hundreds of megabytes; answering from the headers takes next to nothing.
    expect(after - before).toBeLessThan(40 * 1024);
  });
});
