/**
 * The backend's request-process rate, for the capacity model (docs/capacity.md): one file uploaded
 * through the backend's own signed URL, then wrk posting request-process for it, each post a new
 * job. The peer implements no upload flow, so this figure has no peer beside it. It runs last on a
 * backend, since the jobs it creates are dispatched (to the idle ML server, which refuses them).
 */
import { type MeasureContext, run } from './measure.js';
import type { Target } from './targets.js';
import type { WrkResult } from './wrk.js';

export interface RequestProcessResult extends WrkResult {
  /** Jobs in the table with the bench's file, after the run: every accepted post made one. */
  jobsCreated: number;
}

async function uploadOne(target: Target): Promise<string> {
  const url = await fetch(`${target.baseUrl}/api/upload-video/generate-url`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ filename: 'bench.mp4', content_type: 'video/mp4' }),
  });
  const { upload_url: uploadUrl, fileKey } = (await url.json()) as { upload_url: string; fileKey: string };
  const put = await fetch(uploadUrl, { method: 'PUT', headers: { 'content-type': 'video/mp4' }, body: new Uint8Array(64 * 1024).fill(7) });
  if (!put.ok) throw new Error(`the bench upload answered ${put.status}`);
  return fileKey;
}

export async function requestProcess(ctx: MeasureContext, target: Target): Promise<RequestProcessResult> {
  const fileKey = await uploadOne(target);
  const r = await run(ctx, target, target.baseUrl, 'request-process', { BENCH_FILE_KEY: fileKey });
  const [row] = await ctx.db.sql<{ n: number }[]>`select count(*)::int as n from jobs where file_key = ${fileKey}`;
  // Out of the way of the next rounds' backends: the jobs are cancelled, never sent again.
  await ctx.db.sql`update jobs set status = 'cancelled', next_dispatch_at = null where file_key = ${fileKey} and status = 'pending'`;
  return { ...r, jobsCreated: row?.n ?? 0 };
}
