/** Small helpers shared by the contract suites. */
import { createHmac, randomUUID } from 'node:crypto';
import { eq } from 'drizzle-orm';
import { jobs } from '../../drizzle/schema.js';
import { PUBLIC_BASE, type TestApp } from '../support/app.js';

export const ADMIN_TOKEN = 'admin-token-for-contract-tests-0123';
export const JWT_SECRET = 'jwt-secret-for-contract-tests-0123';
export const WEBHOOK_SECRET = 'plain-webhook-secret-for-contract-tests';

/** POSTs `body` (JSON-encoded unless a string) to the app. */
export function post(t: TestApp, path: string, body: unknown, headers: Record<string, string> = {}): Promise<Response> {
  return t.fetch(`${PUBLIC_BASE}${path}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body: typeof body === 'string' ? body : JSON.stringify(body),
  });
}

export interface Job {
  id: string;
  token: string;
  key: string;
}

/** Uploads a file and creates a job for it; returns the job id, its callback token and the file key. */
export async function newJob(t: TestApp, headers: Record<string, string> = {}): Promise<Job> {
  const key = await t.upload();
  const res = await post(t, '/api/upload-video/request-process', { fileKey: key }, headers);
  if (res.status !== 200) throw new Error(`request-process answered ${res.status}: ${await res.text()}`);
  const { job_id } = (await res.json()) as { job_id: string };
  return { id: job_id, token: await tokenOf(t, job_id), key };
}

export async function tokenOf(t: TestApp, id: string): Promise<string> {
  const [row] = await t.database.db.select({ token: jobs.callbackToken }).from(jobs).where(eq(jobs.id, id));
  if (!row) throw new Error(`no job ${id}`);
  return row.token;
}

/** As the real ML server sends a callback: all seven keys, nulls included. */
export const callback = (job_id: string, over: Record<string, unknown> = {}) => ({
  job_id,
  status: 'processing',
  progress: null,
  message: null,
  result: null,
  error_message: null,
  error_code: null,
  ...over,
});

/** Version 1.0's `X-Signature-256: sha256=<hex HMAC-SHA256 of the raw body>` (docs/callbacks.md). */
export const xSignature = (secret: string, body: string) => `sha256=${createHmac('sha256', secret).update(body, 'utf8').digest('hex')}`;

export const unknownId = () => randomUUID();

/** Closes an app whose database was closed on purpose, without waiting forever on its dead LISTEN connection. */
export async function closeQuietly(t: TestApp): Promise<void> {
  await Promise.race([t.close().catch(() => {}), new Promise((r) => setTimeout(r, 5000).unref())]);
}

/** JSON with every non-ASCII character `\uXXXX`-escaped, as Python's json.dumps (ensure_ascii) writes it. */
export const asciiJson = (value: unknown) => JSON.stringify(value).replace(/[\u007f-\uffff]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
