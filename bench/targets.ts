/**
 * The servers under test, each started as its own process on 127.0.0.1: the backend exactly as
 * production starts it, the FastAPI peer, and the raw floors.
 */
import { execFile } from 'node:child_process';
import { createServer, type Server } from 'node:http';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { freePort, start, type Started,waitReady } from './processes.js';

export interface Target extends Started {
  baseUrl: string;
  /** From the spawn of the start command to the first healthy answer (polled every 10 ms). */
  startToHealthyMs?: number;
}

export interface TargetContext {
  root: string;
  tmp: string;
  databaseUrl: string;
  webhookSecret: string;
  mlServerUrl: string;
}

const PYTHON = '/usr/bin/python3';

/** How production starts the backend; with a build it becomes `['node', ['dist/server/main.js']]`. */
const BACKEND_COMMAND: [string, string[]] = ['npm', ['start']];

export async function startBackend(ctx: TargetContext): Promise<Target> {
  const port = await freePort();
  const env = {
    ...process.env,
    PORT: String(port),
    HOST: '127.0.0.1',
    DATABASE_URL: ctx.databaseUrl,
    MODEL_SERVER_URL: ctx.mlServerUrl,
    WEBHOOK_SECRET: ctx.webhookSecret,
    LOG_LEVEL: 'warn',
    RATE_LIMIT_PER_MINUTE: '0',
    // No S3_BUCKET_NAME: the embedded storage, under a directory of the bench's own.
    DATA_DIR: join(ctx.tmp, 'backend-data'),
  };
  const spawned = performance.now();
  const p = start('backend', BACKEND_COMMAND[0], BACKEND_COMMAND[1], { cwd: ctx.root, env, logFile: join(ctx.tmp, 'backend.log') });
  const baseUrl = `http://127.0.0.1:${port}`;
  await waitReady(p, `${baseUrl}/health`, 60_000, 10);
  return { ...p, baseUrl, startToHealthyMs: performance.now() - spawned };
}

/** Whether Debian's FastAPI, uvicorn and asyncpg are there for /usr/bin/python3, and which extras uvicorn will use. */
export async function peerAvailable(): Promise<{ ok: boolean; detail: string }> {
  const probe = `
import importlib.util as u, fastapi, uvicorn, asyncpg, pydantic
loop = 'uvloop' if u.find_spec('uvloop') else 'asyncio'
http = 'httptools' if u.find_spec('httptools') else 'h11'
print(f'FastAPI {fastapi.__version__}, uvicorn {uvicorn.__version__} (loop {loop}, http {http}), asyncpg {asyncpg.__version__}, pydantic {pydantic.VERSION}')`;
  try {
    const { stdout } = await promisify(execFile)(PYTHON, ['-c', probe]);
    return { ok: true, detail: stdout.trim() };
  } catch {
    return { ok: false, detail: 'not installed' };
  }
}

export async function startPeer(ctx: TargetContext, workers: number): Promise<Target> {
  const port = await freePort();
  const args = ['-m', 'uvicorn', 'app:app', '--app-dir', join(ctx.root, 'bench/peer'), '--host', '127.0.0.1', '--port', String(port),
    '--workers', String(workers), '--log-level', 'warning', '--no-access-log'];
  const env = { ...process.env, DATABASE_URL: ctx.databaseUrl, WEBHOOK_SECRET: ctx.webhookSecret };
  const p = start('peer', PYTHON, args, { cwd: ctx.root, env, logFile: join(ctx.tmp, 'peer.log') });
  const baseUrl = `http://127.0.0.1:${port}`;
  // FastAPI's own page: up once the app (and its pool) started.
  await waitReady(p, `${baseUrl}/openapi.json`);
  return { ...p, baseUrl };
}

export type Floor = 'pk-read' | 'static' | 'write' | 'write-notify';

export async function startFloor(ctx: TargetContext, floor: Floor): Promise<Target> {
  const port = await freePort();
  const env = { ...process.env, PORT: String(port), DATABASE_URL: ctx.databaseUrl, WEBHOOK_SECRET: ctx.webhookSecret };
  const tsx = join(ctx.root, 'node_modules/.bin/tsx');
  const p = start(`${floor} floor`, tsx, [join(ctx.root, `bench/floors/${floor}.ts`)], { cwd: ctx.root, env, logFile: join(ctx.tmp, `${floor}.log`) });
  const baseUrl = `http://127.0.0.1:${port}`;
  await waitReady(p, `${baseUrl}/`);
  return { ...p, baseUrl };
}

/** An ML server that answers nothing in particular and counts what reaches it: seeded jobs are never dispatched. */
export async function startIdleMlServer(): Promise<{ url: string; hits: () => number; close: () => Promise<void> }> {
  let hits = 0;
  const server: Server = createServer((req, res) => {
    hits++;
    req.resume();
    res.writeHead(503).end();
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  return { url: `http://127.0.0.1:${port}`, hits: () => hits, close: () => new Promise((r) => server.close(() => r())) };
}
