/**
 * Runs Debian's /usr/bin/python3 for the suites in test/python: the callback client driver
 * (test/python/driver.py) and the example ML server (examples/ml-server-python).
 */
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { requirePython } from '../support/tools.js';

export const PYTHON = process.env.PYTHON ?? '/usr/bin/python3';
export const root = join(import.meta.dirname, '..', '..');

/** The environment for Python children: no `__pycache__` left in the working tree. */
export const pythonEnv = (extra: Record<string, string> = {}): NodeJS.ProcessEnv => ({ ...process.env, PYTHONDONTWRITEBYTECODE: '1', ...extra });

/** Whether /usr/bin/python3 runs with `modules` (skip with a message locally, fail under CI=true). */
export const havePython = (modules: readonly string[] = []): boolean =>
  requirePython(PYTHON, modules, modules.length > 0 ? `apt-get install ${modules.map((m) => `python3-${m}`).join(' ')}` : 'apt-get install python3');

export type DriverError = { status: number; code: string; message: string; attempts: number };
export type DriverResult = { ack: Record<string, unknown> } | { error: DriverError };
export type DriverCall = [method: 'progress' | 'completed' | 'failed' | 'send', args: unknown[]];

/** Runs test/python/driver.py with one JSON command; asynchronous, so servers in this process keep answering. */
export function runDriver<T>(command: unknown): Promise<T> {
  return new Promise((resolve, reject) => {
    const child = spawn(PYTHON, [join(root, 'test', 'python', 'driver.py')], { stdio: ['pipe', 'pipe', 'pipe'], env: pythonEnv() });
    let out = '';
    let err = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (err += d.toString()));
    child.once('error', reject);
    child.once('exit', (code) => {
      if (code !== 0) return reject(new Error(`driver.py exited with ${code}:\n${err}`));
      try {
        resolve(JSON.parse(out) as T);
      } catch {
        reject(new Error(`driver.py wrote no JSON:\n${out}\n${err}`));
      }
    });
    child.stdin.end(JSON.stringify(command));
  });
}

/** Calls a CallbackClient built with `client` (its keyword arguments) and returns each call's outcome. */
export const runCallbacks = (client: Record<string, unknown>, calls: DriverCall[]) =>
  runDriver<{ url: string; results: DriverResult[] }>({ client, calls });
