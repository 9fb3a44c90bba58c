/**
 * Clients that never finish a request, against the backend as a process: each must lose its
 * connection within the configured limit (docs/limits.md), lowered here to seconds.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runMigrations } from '../../server/db/migrate.js';
import { type ScratchDatabase,scratchDatabase } from '../support/db.js';
import { type Proc,startBackend } from '../support/process.js';

let db: ScratchDatabase;
let dataDir: string;
const procs: Proc[] = [];

const limits = { HTTP_HEADERS_TIMEOUT: '1', HTTP_REQUEST_TIMEOUT: '2', HTTP_KEEP_ALIVE_TIMEOUT: '1', HTTP_IDLE_TIMEOUT: '30', UPLOAD_IDLE_TIMEOUT: '1' };
const env = () => ({ DATABASE_URL: db.url, DATA_DIR: dataDir, MODEL_SERVER_URL: 'http://127.0.0.1:9', RATE_LIMIT_PER_MINUTE: '0' });

beforeAll(async () => {
  db = await scratchDatabase('ecg_security');
  await runMigrations(db.url);
  dataDir = await mkdtemp(join(tmpdir(), 'ecg-security-'));
}, 120_000);
afterAll(async () => {
  await Promise.all(procs.map((p) => p.kill('SIGKILL')));
  await db?.drop();
  await rm(dataDir, { recursive: true, force: true });
}, 60_000);

interface Client {
  socket: net.Socket;
  /** Everything the server sent. */
  received(): string;
  /** Milliseconds from the connection to its close (resolves once closed). */
  closed: Promise<number>;
}

/** A raw TCP connection to `url`, so a test can send as slowly as it likes. */
function connect(url: string): Promise<Client> {
  const { hostname, port } = new URL(url);
  return new Promise((resolve, reject) => {
    const started = Date.now();
    let data = '';
    const socket = net.connect(Number(port), hostname);
    socket.on('data', (d: Buffer) => (data += d.toString('latin1')));
    socket.on('error', () => {}); // a reset is one way of being closed
    const closed = new Promise<number>((r) => socket.once('close', () => r(Date.now() - started)));
    socket.once('connect', () => resolve({ socket, received: () => data, closed }));
    socket.once('error', reject);
  });
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function uploadUrl(backend: string): Promise<{ url: string; headers: Record<string, string> }> {
  const res = await fetch(`${backend}/api/upload-video/generate-url`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ filename: 'slow.mp4', content_type: 'video/mp4' }) });
  const body = (await res.json()) as { upload_url: string; headers: Record<string, string> };
  return { url: body.upload_url, headers: body.headers };
}

describe('clients that never finish', () => {
  let backend: Proc;
  beforeAll(async () => {
    backend = await startBackend({ ...env(), ...limits });
    procs.push(backend);
  }, 60_000);

  it('closes a connection whose headers stop half-way, with 408, within the headers timeout', async () => {
    const c = await connect(backend.url);
    c.socket.write('GET /health HTTP/1.1\r\nHost: localhost\r\n');
    const after = await c.closed;
    expect(after).toBeLessThan(3000);
    expect(c.received()).toMatch(/^HTTP\/1\.1 408/);
  });

  it('closes a connection that never sends a byte within the headers timeout', async () => {
    const c = await connect(backend.url);
    expect(await c.closed).toBeLessThan(3000);
  });

  it('closes a JSON request whose body stops arriving, within the request timeout', async () => {
    const c = await connect(backend.url);
    c.socket.write('POST /api/upload-video/generate-url HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{"filename":');
    const after = await c.closed;
    expect(after).toBeGreaterThanOrEqual(1500);
    expect(after).toBeLessThan(5000);
    expect(c.received()).toMatch(/^HTTP\/1\.1 408/);
  });

  it('closes a JSON request whose body trickles without ever pausing long, at the total request timeout', async () => {
    const c = await connect(backend.url);
    c.socket.write('POST /api/upload-video/generate-url HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\nContent-Length: 1000\r\n\r\n');
    const trickle = setInterval(() => c.socket.writable && c.socket.write(' '), 200);
    try {
      expect(await c.closed).toBeLessThan(5000);
    } finally {
      clearInterval(trickle);
    }
  });

  it('closes a kept-alive connection that stays idle after its response, within the keep-alive timeout', async () => {
    const c = await connect(backend.url);
    c.socket.write('GET /health HTTP/1.1\r\nHost: localhost\r\n\r\n');
    const after = await c.closed;
    expect(c.received()).toMatch(/^HTTP\/1\.1 200/);
    expect(after).toBeLessThan(4000);
  });

  it('drops an upload to the embedded storage that stops sending, within the upload idle timeout, and stores nothing', async () => {
    const up = await uploadUrl(backend.url);
    const target = new URL(up.url);
    const c = await connect(backend.url);
    c.socket.write(`PUT ${target.pathname}${target.search} HTTP/1.1\r\nHost: localhost\r\nContent-Type: ${up.headers['Content-Type']}\r\nContent-Length: 4096\r\n\r\n`);
    c.socket.write(Buffer.alloc(100, 1));
    expect(await c.closed).toBeLessThan(4000);
    const key = decodeURIComponent(target.pathname.slice('/storage/'.length));
    const head = await fetch(`${backend.url}/api/upload-video/request-process`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ fileKey: key }) });
    expect(head.status).toBe(404);
  });

  it('lets an upload that keeps sending run longer than the request timeout', async () => {
    const up = await uploadUrl(backend.url);
    let chunks = 8; // one every 400 ms: 3.2 s, past the 2 s request timeout, never idle for 1 s
    const body = new ReadableStream<Uint8Array>({
      async pull(controller) {
        await sleep(400);
        controller.enqueue(new Uint8Array(512).fill(7));
        if (--chunks === 0) controller.close();
      },
    });
    const res = await fetch(up.url, { method: 'PUT', headers: { ...up.headers, 'content-length': String(8 * 512) }, body, duplex: 'half' } as RequestInit);
    expect(res.status).toBe(200);
  });
});

describe('the connection cap', () => {
  it('refuses connections beyond HTTP_MAX_CONNECTIONS and accepts again once one closes', async () => {
    const backend = await startBackend({ ...env(), HTTP_MAX_CONNECTIONS: '4', HTTP_HEADERS_TIMEOUT: '30' });
    procs.push(backend);
    const held = await Promise.all([1, 2, 3, 4].map(() => connect(backend.url)));
    await sleep(200);
    const extra = await connect(backend.url);
    expect(await extra.closed).toBeLessThan(2000);
    expect(extra.received()).toBe('');
    held[0]!.socket.destroy();
    await held[0]!.closed;
    await sleep(200);
    const res = await fetch(`${backend.url}/health`);
    expect(res.status).toBe(200);
    for (const c of held) c.socket.destroy();
  }, 60_000);
});
