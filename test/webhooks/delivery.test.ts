/**
 * Consumer webhooks against the real app and PostgreSQL (docs/webhooks.md): `webhook_url` vetted at
 * request-process, the outbox row written in the statement of the terminal transition, delivery
 * signed with Standard Webhooks, retried with backoff under one `webhook-id`, every attempt recorded,
 * private addresses refused at connection time, giving up, pruning.
 */
import { createServer } from 'node:http';
import { Webhook } from 'standardwebhooks';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { createMetrics, type Metrics } from '../../server/http/metrics.js';
import { createLogger } from '../../server/logger.js';
import { backoffMs, createWebhookWorker, type WebhookWorker } from '../../server/webhooks/delivery.js';
import { createTestApp, type TestApp } from '../support/app.js';
import { CONSUMER_SECRET, receiver } from './support.js';

let t: TestApp;
const workers: WebhookWorker[] = [];
beforeAll(async () => {
  // A database of its own: the worker delivers every due row it finds.
  t = await createTestApp(
    { CONSUMER_WEBHOOK_SECRET: CONSUMER_SECRET, WEBHOOK_ALLOW_PRIVATE: 'true', WEBHOOK_BACKOFF_BASE_MS: '100', WEBHOOK_BACKOFF_MAX_MS: '400', WEBHOOK_TIMEOUT: '2' },
    undefined,
    { isolatedDatabase: true },
  );
});
afterEach(async () => {
  await Promise.all(workers.splice(0).map((w) => w.stop()));
});
afterAll(async () => t.close());

const sql = () => t.database.sql;

function worker(over: Partial<TestApp['config']['consumerWebhooks']> = {}, metrics?: Metrics): WebhookWorker {
  const w = createWebhookWorker({ config: { ...t.config, consumerWebhooks: { ...t.config.consumerWebhooks, ...over } }, sql: sql(), logger: createLogger('silent'), metrics });
  workers.push(w);
  return w;
}

async function jobWithWebhook(url: string): Promise<string> {
  const key = await t.upload();
  const { data, response } = await t.client.POST('/api/upload-video/request-process', { body: { fileKey: key, webhook_url: url } });
  expect(response.status).toBe(200);
  return data!.job_id;
}

const cancel = (id: string) => t.client.POST('/api/upload-video/cancel/{job_id}', { params: { path: { job_id: id } } });
const outboxOf = (id: string) => sql()<{ id: string; url: string; payload: Record<string, unknown>; attempts: number; delivered_at: Date | null; gave_up_at: Date | null; next_attempt_at: Date | null; last_error: string | null }[]>`select * from webhook_outbox where job_id = ${id}`;
const attemptsOf = (outboxId: string) => sql()<{ status_code: number | null; error: string | null; duration_ms: number; at: Date }[]>`select * from webhook_attempts where outbox_id = ${outboxId} order by id`;

describe('backoff', () => {
  it('doubles from the base, is capped, and is shortened by at most a fifth at random', () => {
    const o = { baseMs: 1000, maxMs: 10_000 };
    expect([1, 2, 3, 4, 5, 6].map((n) => backoffMs(n, o, () => 0))).toEqual([1000, 2000, 4000, 8000, 10_000, 10_000]);
    expect(backoffMs(3, o, () => 1)).toBe(3200);
    expect(backoffMs(500, o, () => 0)).toBe(10_000);
  });
});

describe('request-process with webhook_url', () => {
  it('refuses a webhook_url when no CONSUMER_WEBHOOK_SECRET is configured, naming the field', async () => {
    const plain = await createTestApp();
    try {
      const key = await plain.upload();
      const { response, error } = await plain.client.POST('/api/upload-video/request-process', { body: { fileKey: key, webhook_url: 'https://consumer.example/hook' } });
      expect(response.status).toBe(422);
      expect(error).toMatchObject({ error: 'VALIDATION_ERROR', details: [{ path: 'webhook_url' }] });
      expect(error!.message).toMatch(/CONSUMER_WEBHOOK_SECRET/);
    } finally {
      await plain.close();
    }
  });

  it('refuses private addresses unless WEBHOOK_ALLOW_PRIVATE, and URLs that are not http(s)', async () => {
    const strict = await createTestApp({ CONSUMER_WEBHOOK_SECRET: CONSUMER_SECRET });
    try {
      const key = await strict.upload();
      for (const url of ['http://127.0.0.1:9/hook', 'http://169.254.169.254/latest', 'http://[::1]/x', 'http://localhost:9/x', 'ftp://consumer.example/x']) {
        const { response, error } = await strict.client.POST('/api/upload-video/request-process', { body: { fileKey: key, webhook_url: url } });
        expect(response.status, url).toBe(422);
        expect(error, url).toMatchObject({ error: 'VALIDATION_ERROR', details: [{ path: 'webhook_url' }] });
      }
      const n = (await strict.database.sql<{ n: number }[]>`select count(*)::int as n from jobs where file_key = ${key}`)[0]?.n;
      expect(n).toBe(0);
    } finally {
      await strict.close();
    }
  });

  it('takes the webhook_url into the idempotency fingerprint', async () => {
    const key = await t.upload();
    const headers = { 'Idempotency-Key': `wh-${Date.now()}` };
    const a = await t.client.POST('/api/upload-video/request-process', { body: { fileKey: key, webhook_url: 'http://127.0.0.1:1/a' }, headers });
    expect(a.response.status).toBe(200);
    const same = await t.client.POST('/api/upload-video/request-process', { body: { fileKey: key, webhook_url: 'http://127.0.0.1:1/a' }, headers });
    expect(same.data!.job_id).toBe(a.data!.job_id);
    const other = await t.client.POST('/api/upload-video/request-process', { body: { fileKey: key, webhook_url: 'http://127.0.0.1:1/b' }, headers });
    expect(other.response.status).toBe(409);
    await cancel(a.data!.job_id);
    await sql()`delete from webhook_outbox where job_id = ${a.data!.job_id}`;
  });
});

describe('the outbox row', () => {
  it('is written with the terminal transition, with the payload, and only for jobs with a webhook_url', async () => {
    const withHook = await jobWithWebhook('http://127.0.0.1:1/hook');
    expect(await outboxOf(withHook)).toEqual([]);
    await cancel(withHook);
    const [row] = await outboxOf(withHook);
    expect(row).toMatchObject({ url: 'http://127.0.0.1:1/hook', attempts: 0, delivered_at: null });
    expect(row!.id).toMatch(/^msg_[0-9a-f]{32}$/);
    expect(row!.payload).toMatchObject({
      type: 'job.cancelled',
      data: { job_id: withHook, status: 'cancelled', error_code: null, status_url: `/api/upload-video/status/${withHook}` },
    });
    expect(Date.parse(row!.payload.timestamp as string)).not.toBeNaN();
    // Cancelling again changes nothing and writes no second event.
    await cancel(withHook);
    expect(await outboxOf(withHook)).toHaveLength(1);

    const key = await t.upload();
    const { data } = await t.client.POST('/api/upload-video/request-process', { body: { fileKey: key } });
    await cancel(data!.job_id);
    expect(await outboxOf(data!.job_id)).toEqual([]);
    await sql()`delete from webhook_outbox where job_id = ${withHook}`;
  });

  it('is in the same statement as the transition: when the outbox insert fails, the job does not change', async () => {
    const id = await jobWithWebhook('http://127.0.0.1:1/hook');
    await sql().unsafe(`create or replace function refuse_outbox() returns trigger language plpgsql as $$ begin raise exception 'outbox refused'; end $$;
      create trigger refuse_outbox before insert on webhook_outbox for each row execute function refuse_outbox()`);
    try {
      const { response } = await cancel(id);
      expect(response.status).toBe(500);
    } finally {
      await sql().unsafe('drop trigger refuse_outbox on webhook_outbox; drop function refuse_outbox()');
    }
    const [job] = await sql()<{ status: string; version: number }[]>`select status, version from jobs where id = ${id}`;
    expect(job).toEqual({ status: 'pending', version: 0 });
    const events = await sql()<{ kind: string }[]>`select kind from job_events where job_id = ${id}`;
    expect(events.map((e) => e.kind)).toEqual(['created']);
    expect((await cancel(id)).response.status).toBe(200);
    expect(await outboxOf(id)).toHaveLength(1);
    await sql()`delete from webhook_outbox where job_id = ${id}`;
  });

  it('is written for completed and failed jobs too, with the error fields of a failure', async () => {
    const done = await jobWithWebhook('http://127.0.0.1:1/hook');
    const failed = await jobWithWebhook('http://127.0.0.1:1/hook');
    const token = async (id: string) => (await sql()<{ callback_token: string }[]>`select callback_token from jobs where id = ${id}`)[0]!.callback_token;
    const post = async (id: string, body: Record<string, unknown>) =>
      t.fetch(`http://backend.test/api/ml-callback/${await token(id)}/api/upload-video/result`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ job_id: id, progress: null, message: null, result: null, error_message: null, error_code: null, ...body }),
      });
    expect((await post(done, { status: 'completed', progress: 100, result: { segments: [] } })).status).toBe(200);
    expect((await post(failed, { status: 'failed', error_code: 'AUDIO_DECODE', error_message: 'no audio' })).status).toBe(200);
    expect((await outboxOf(done))[0]!.payload).toMatchObject({ type: 'job.completed', data: { status: 'completed', progress: 100, error_code: null } });
    expect((await outboxOf(failed))[0]!.payload).toMatchObject({ type: 'job.failed', data: { status: 'failed', error_code: 'AUDIO_DECODE', error_message: 'no audio' } });
    await sql()`delete from webhook_outbox where job_id in (${done}, ${failed})`;
  });
});

describe('delivery', () => {
  it('signs with Standard Webhooks, retries a failing receiver with backoff under the same webhook-id, and records every attempt', async () => {
    const r = await receiver((n) => (n <= 2 ? 503 : 204));
    try {
      const id = await jobWithWebhook(r.url);
      await cancel(id);
      const metrics = createMetrics();
      const w = worker({}, metrics);
      w.start();
      await vi.waitFor(async () => expect((await outboxOf(id))[0]!.delivered_at).not.toBeNull(), { timeout: 10_000, interval: 50 });
      const [row] = await outboxOf(id);
      expect(row!.attempts).toBe(3);
      expect(row!.last_error).toBeNull();
      expect(row!.next_attempt_at).toBeNull();
      expect(r.received).toHaveLength(3);
      const verifier = new Webhook(CONSUMER_SECRET);
      for (const got of r.received) {
        expect(got.headers['webhook-id']).toBe(row!.id);
        expect(got.headers['content-type']).toBe('application/json');
        const payload = verifier.verify(got.body, got.headers as Record<string, string>) as { type: string; data: { job_id: string } };
        expect(payload).toMatchObject({ type: 'job.cancelled', data: { job_id: id } });
      }
      // The body is byte for byte the same on every attempt.
      expect(new Set(r.received.map((g) => g.body)).size).toBe(1);
      // Backoff: 100 ms then 200 ms (each shortened by at most a fifth), measured at the receiver.
      const gaps = [r.received[1]!.at - r.received[0]!.at, r.received[2]!.at - r.received[1]!.at];
      expect(gaps[0]).toBeGreaterThanOrEqual(75);
      expect(gaps[1]).toBeGreaterThanOrEqual(155);
      const attempts = await attemptsOf(row!.id);
      expect(attempts.map((a) => a.status_code)).toEqual([503, 503, 204]);
      expect(attempts.every((a) => a.error === null && a.duration_ms >= 0)).toBe(true);
      const counted = (await metrics.webhookDeliveries.get()).values.map((v) => [v.labels.outcome, v.value]);
      expect(Object.fromEntries(counted)).toEqual({ http_error: 2, delivered: 1 });
    } finally {
      await r.close();
    }
  });

  it('records a connection failure as an attempt with its error and tries again later', async () => {
    const r = await receiver();
    const url = r.url;
    await r.close();
    const id = await jobWithWebhook(url);
    await cancel(id);
    await worker().tick();
    await vi.waitFor(async () => expect((await outboxOf(id))[0]!.attempts).toBeGreaterThanOrEqual(1), { timeout: 5000, interval: 50 });
    const [row] = await outboxOf(id);
    expect(row!.delivered_at).toBeNull();
    expect(row!.last_error).toMatch(/ECONNREFUSED/);
    expect(row!.next_attempt_at).not.toBeNull();
    expect((await attemptsOf(row!.id))[0]).toMatchObject({ status_code: null, error: expect.stringMatching(/ECONNREFUSED/) });
    await sql()`delete from webhook_outbox where job_id = ${id}`;
  });

  it('refuses private addresses at connection time when they are not allowed, without sending a byte', async () => {
    let hits = 0;
    const server = createServer((_req, res) => {
      hits += 1;
      res.end();
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const { port } = server.address() as { port: number };
    try {
      // Stored while private addresses were allowed (or a name re-pointed since): delivery checks again.
      const byIp = await jobWithWebhook(`http://127.0.0.1:${port}/hook`);
      const byName = await jobWithWebhook(`http://localhost:${port}/hook`);
      await cancel(byIp);
      await cancel(byName);
      await worker({ allowPrivate: false }).tick();
      await vi.waitFor(async () => {
        for (const id of [byIp, byName]) expect((await outboxOf(id))[0]!.attempts).toBeGreaterThanOrEqual(1);
      }, { timeout: 5000, interval: 50 });
      for (const id of [byIp, byName]) {
        const [row] = await outboxOf(id);
        expect(row!.last_error).toMatch(/address not allowed/);
        const attempts = await attemptsOf(row!.id);
        expect(attempts.every((a) => a.status_code === null && /address not allowed/.test(a.error ?? ''))).toBe(true);
      }
      expect(hits).toBe(0);
      await sql()`delete from webhook_outbox where job_id in (${byIp}, ${byName})`;
    } finally {
      await new Promise((r) => server.close(r));
    }
  });

  it('gives up once WEBHOOK_GIVE_UP_AFTER has passed since the event', async () => {
    const r = await receiver(() => 500);
    try {
      const id = await jobWithWebhook(r.url);
      await cancel(id);
      worker({ giveUpAfterMs: 600, pollIntervalMs: 50 }).start();
      await vi.waitFor(async () => expect((await outboxOf(id))[0]!.gave_up_at).not.toBeNull(), { timeout: 10_000, interval: 50 });
      const [row] = await outboxOf(id);
      expect(row!.next_attempt_at).toBeNull();
      expect(row!.delivered_at).toBeNull();
      expect(row!.last_error).toBe('HTTP 500');
      expect(row!.attempts).toBeGreaterThanOrEqual(2);
      expect(await attemptsOf(row!.id)).toHaveLength(row!.attempts);
      const n = r.received.length;
      await new Promise((res) => setTimeout(res, 300));
      expect(r.received.length).toBe(n);
    } finally {
      await r.close();
    }
  });

  it('sends a row to one process only when several claim at once', async () => {
    const r = await receiver(() => 200);
    try {
      const ids = await Promise.all(Array.from({ length: 6 }, () => jobWithWebhook(r.url)));
      for (const id of ids) await cancel(id);
      const ws = [worker(), worker(), worker()];
      await Promise.all(ws.map((w) => w.tick()));
      await vi.waitFor(async () => {
        const n = (await sql()<{ n: number }[]>`select count(*)::int as n from webhook_outbox where job_id = any(${ids}) and delivered_at is not null`)[0]?.n;
        expect(n).toBe(6);
      }, { timeout: 10_000, interval: 50 });
      const idsSeen = r.received.map((g) => g.headers['webhook-id']);
      expect(idsSeen).toHaveLength(6);
      expect(new Set(idsSeen).size).toBe(6);
    } finally {
      await r.close();
    }
  });

  it('prunes rows delivered longer ago than the retention, with their attempts, and keeps the rest', async () => {
    const r = await receiver(() => 200);
    try {
      const old = await jobWithWebhook(r.url);
      const recent = await jobWithWebhook(r.url);
      await cancel(old);
      await cancel(recent);
      await worker().tick();
      await vi.waitFor(async () => {
        for (const id of [old, recent]) expect((await outboxOf(id))[0]!.delivered_at).not.toBeNull();
      }, { timeout: 5000, interval: 50 });
      await sql()`update webhook_outbox set delivered_at = now() - interval '8 days' where job_id = ${old}`;
      const oldRow = (await outboxOf(old))[0]!;
      await worker({ retentionMs: 7 * 86_400_000 }).tick();
      expect(await outboxOf(old)).toEqual([]);
      expect(await attemptsOf(oldRow.id)).toEqual([]);
      expect(await outboxOf(recent)).toHaveLength(1);
    } finally {
      await r.close();
    }
  });
});
