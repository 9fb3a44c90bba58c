/**
 * Consumer webhooks end to end, as processes (docs/webhooks.md): the backend, the fake ML server and a
 * receiver (test/fixtures/webhook-receiver.ts) that verifies signatures with the SDK. The receiver is
 * killed while jobs finish, the backend is SIGKILLed and started again meanwhile, the receiver comes
 * back: every job's event arrives, once per `webhook-id`, with every failed attempt recorded.
 */
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import postgres from 'postgres';
import { describe, expect, it, vi } from 'vitest';
import { freePort, type Proc, spawnReady, startBackend, startFakeMl } from '../support/process.js';
import { jobStatus, json, scratchServices, upload } from './support.js';

const scratch = scratchServices('e2e_webhooks');
const track = scratch.track;
const SECRET = `whsec_${randomBytes(32).toString('base64')}`;

type Delivery = { webhook_id: string; job_id: string; type: string; status: string; duplicate: boolean };

const startReceiver = (port: number, file: string): Promise<Proc> =>
  spawnReady('test/fixtures/webhook-receiver.ts', { PORT: String(port), CONSUMER_WEBHOOK_SECRET: SECRET, RECORD_FILE: file }, /listening \d+/, port);

async function newJob(backend: string, webhookUrl: string): Promise<string> {
  const fileKey = await upload(backend);
  const res = await fetch(`${backend}/api/upload-video/request-process`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ fileKey, language: 'en', webhook_url: webhookUrl }),
  });
  expect(res.status).toBe(200);
  return (await res.json() as { job_id: string }).job_id;
}

describe('webhooks to a consumer that goes away and comes back', () => {
  it('delivers every job\'s terminal event exactly once per webhook-id, across a receiver outage and a backend restart', async () => {
    const [receiverPort, backendPort] = [await freePort(), await freePort()];
    const file = join(scratch.dataDir, 'deliveries.jsonl');
    const hook = `http://127.0.0.1:${receiverPort}/hooks/ecg`;
    const ml = track(await startFakeMl());
    const env = {
      DATABASE_URL: scratch.db.url, DATA_DIR: scratch.dataDir, RATE_LIMIT_PER_MINUTE: '0', MODEL_SERVER_URL: ml.url,
      CONSUMER_WEBHOOK_SECRET: SECRET, WEBHOOK_ALLOW_PRIVATE: 'true', WEBHOOK_BACKOFF_BASE_MS: '200', WEBHOOK_BACKOFF_MAX_MS: '800',
      WEBHOOK_POLL_INTERVAL_MS: '100', WEBHOOK_TIMEOUT: '2',
    };
    let receiver = track(await startReceiver(receiverPort, file));
    let backend = track(await startBackend(env, backendPort));
    const sql = postgres(scratch.db.url, { max: 1, onnotice: () => {} });
    try {
      // While the receiver is up: delivered at the first attempt.
      const first = await newJob(backend.url, hook);
      await vi.waitFor(async () => expect((await json<{ deliveries: Delivery[] }>(fetch(`${receiver.url}/deliveries`))).deliveries).toHaveLength(1), { timeout: 10_000, interval: 100 });

      // The receiver goes away; jobs finish (one cancelled at once, the others completed by the ML server).
      await receiver.kill('SIGKILL');
      const later = [await newJob(backend.url, hook), await newJob(backend.url, hook), await newJob(backend.url, hook), await newJob(backend.url, hook)];
      await fetch(`${backend.url}/api/upload-video/cancel/${later[0]}`, { method: 'POST' });
      const ids = [first, ...later];
      await vi.waitFor(async () => {
        const states = await Promise.all(ids.map((id) => jobStatus(backend.url, id)));
        expect(states.every((s) => ['completed', 'cancelled', 'failed'].includes(s.status))).toBe(true);
      }, { timeout: 15_000, interval: 100 });
      // Every waiting event has failed at least once against the missing receiver.
      await vi.waitFor(async () => {
        const rows = await sql<{ attempts: number }[]>`select attempts from webhook_outbox where job_id = any(${later}) and delivered_at is null`;
        expect(rows).toHaveLength(4);
        expect(rows.every((r) => r.attempts >= 1)).toBe(true);
      }, { timeout: 10_000, interval: 100 });

      // The backend dies and comes back while the receiver is still away: the outbox is all it needs.
      expect(await backend.kill('SIGKILL')).toBeNull();
      backend = track(await startBackend(env, backendPort));
      await new Promise((r) => setTimeout(r, 500));
      receiver = track(await startReceiver(receiverPort, file));

      await vi.waitFor(async () => {
        const n = (await sql<{ n: number }[]>`select count(*)::int as n from webhook_outbox where delivered_at is null`)[0]?.n;
        expect(n).toBe(0);
      }, { timeout: 15_000, interval: 100 });

      const { deliveries } = await json<{ deliveries: Delivery[] }>(fetch(`${receiver.url}/deliveries`));
      const outbox = await sql<{ id: string; job_id: string; event_type: string; attempts: number }[]>`select id, job_id, event_type, attempts from webhook_outbox`;
      // One event per job, each delivered once: no duplicate, none missing.
      expect(outbox.map((o) => o.job_id).sort()).toEqual([...ids].sort());
      expect(deliveries.filter((d) => d.duplicate)).toEqual([]);
      expect(deliveries.map((d) => d.webhook_id).sort()).toEqual(outbox.map((o) => o.id).sort());
      for (const id of ids) {
        const mine = deliveries.filter((d) => d.job_id === id);
        expect(mine, id).toHaveLength(1);
        expect(mine[0]!.type).toBe(`job.${(await jobStatus(backend.url, id)).status}`);
      }
      expect(deliveries.find((d) => d.job_id === later[0])?.status).toMatch(/cancelled|completed/);
      // Every attempt is recorded: the failed ones while the receiver was away, then the 204.
      for (const o of outbox) {
        const attempts = await sql<{ status_code: number | null; error: string | null }[]>`select status_code, error from webhook_attempts where outbox_id = ${o.id} order by id`;
        expect(attempts).toHaveLength(o.attempts);
        expect(attempts.at(-1)!.status_code).toBe(204);
        if (o.job_id !== first) {
          expect(attempts.length).toBeGreaterThanOrEqual(2);
          expect(attempts.slice(0, -1).every((a) => a.status_code === null && /ECONNREFUSED/.test(a.error ?? ''))).toBe(true);
        } else expect(attempts).toHaveLength(1);
      }
    } finally {
      await sql.end();
    }
  }, 60_000);
});
