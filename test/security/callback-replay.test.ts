/**
 * Replayed callbacks (docs/callbacks.md). The legacy X-Signature-256 signs only the body, so a
 * captured callback verifies forever; a repeat of one inside the memory window is ignored and
 * changes nothing, not even the watchdog's clock. Standard Webhooks repeats are ignored by their id.
 */
import { randomUUID } from 'node:crypto';
import { eq } from 'drizzle-orm';
import { Webhook } from 'standardwebhooks';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { jobEvents, jobs } from '../../drizzle/schema.js';
import { hmacSignature } from '../../server/http/callback-auth.js';
import { createTestApp, PUBLIC_BASE, type TestApp } from '../support/app.js';

const SECRET = 'whsec_' + Buffer.from('a-replay-test-secret-of-32-bytes').toString('base64');
let t: TestApp;
beforeAll(async () => {
  t = await createTestApp({ WEBHOOK_SECRET: SECRET, ML_API_VERSION: 'v1.0' });
});
afterAll(async () => t?.close());

async function newJob(): Promise<string> {
  const { data } = await t.client.POST('/api/upload-video/request-process', { body: { fileKey: await t.upload() } });
  return data!.job_id;
}

const legacy = (body: string, signature = hmacSignature(SECRET, body)) =>
  t.fetch(`${PUBLIC_BASE}/api/v1/ml/ml-results`, { method: 'POST', headers: { 'content-type': 'application/json', 'X-Signature-256': signature }, body });

const lastHeard = async (id: string) => (await t.database.db.select({ at: jobs.lastHeardAt }).from(jobs).where(eq(jobs.id, id)))[0]?.at;

describe('replayed callbacks', () => {
  it('ignores a replayed X-Signature-256 callback, and the replay does not reset the watchdog', async () => {
    const id = await newJob();
    const body = JSON.stringify({ job_id: id, status: 'processing', progress: 10, message: 'Extracting audio' });
    const first = await legacy(body);
    expect(await first.json()).toMatchObject({ status: 'received' });
    const heard = await lastHeard(id);
    expect(heard).toBeInstanceOf(Date);
    await new Promise((r) => setTimeout(r, 50));
    for (let i = 0; i < 2; i += 1) {
      const replay = await legacy(body);
      expect(replay.status).toBe(200);
      expect(await replay.json()).toMatchObject({ status: 'ignored' });
    }
    expect((await lastHeard(id))?.getTime()).toBe(heard!.getTime());
    const events = await t.database.db.select().from(jobEvents).where(eq(jobEvents.jobId, id));
    expect(events.filter((e) => e.auth === 'hmac')).toHaveLength(1);
  });

  it('still accepts a new callback with its own signature after a replay was ignored', async () => {
    const id = await newJob();
    const first = JSON.stringify({ job_id: id, status: 'processing', progress: 10 });
    await legacy(first);
    await legacy(first);
    const next = await legacy(JSON.stringify({ job_id: id, status: 'processing', progress: 20 }));
    expect(await next.json()).toMatchObject({ status: 'received' });
  });

  it('spells the signature either way without opening a second replay: upper-case hex is the same signature', async () => {
    const id = await newJob();
    const body = JSON.stringify({ job_id: id, status: 'processing', progress: 30 });
    expect(await (await legacy(body)).json()).toMatchObject({ status: 'received' });
    const upper = hmacSignature(SECRET, body).replace(/[0-9a-f]+$/, (h) => h.toUpperCase());
    expect(await (await legacy(body, upper)).json()).toMatchObject({ status: 'ignored' });
  });

  it('ignores a replayed Standard Webhooks delivery by its webhook-id', async () => {
    const id = await newJob();
    const payload = JSON.stringify({ job_id: id, status: 'processing', progress: 40 });
    const msg = `msg_${randomUUID()}`;
    const at = new Date();
    const headers = {
      'content-type': 'application/json',
      'webhook-id': msg,
      'webhook-timestamp': String(Math.floor(at.getTime() / 1000)),
      'webhook-signature': new Webhook(SECRET).sign(msg, at, payload),
    };
    const send = () => t.fetch(`${PUBLIC_BASE}/api/upload-video/result`, { method: 'POST', headers, body: payload });
    expect(await (await send()).json()).toMatchObject({ status: 'received' });
    expect(await (await send()).json()).toMatchObject({ status: 'ignored' });
  });
});
