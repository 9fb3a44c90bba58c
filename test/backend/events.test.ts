import { describe, expect, it, vi } from 'vitest';
import type { JobStatusResponse } from '../../server/generated/v1.1/routes.js';
import { createTestApp, PUBLIC_BASE, type TestApp } from '../support/app.js';

/** Reads `status` events off an open stream into `seen`, each with the time it arrived. */
function collect(body: ReadableStream<Uint8Array>) {
  const seen: Array<{ at: number; status: JobStatusResponse }> = [];
  const reader = body.getReader();
  const decoder = new TextDecoder();
  const done = (async () => {
    let buffer = '';
    for (;;) {
      const { value, done } = await reader.read().catch(() => ({ value: undefined, done: true as const }));
      if (done) return;
      buffer += decoder.decode(value, { stream: true });
      let end;
      while ((end = buffer.indexOf('\n\n')) !== -1) {
        const block = buffer.slice(0, end);
        buffer = buffer.slice(end + 2);
        const data = block.split('\n').find((l) => l.startsWith('data:'));
        if (data) seen.push({ at: Date.now(), status: JSON.parse(data.slice(5)) as JobStatusResponse });
      }
    }
  })();
  return { seen, stop: () => reader.cancel().then(() => done) };
}

async function newJob(t: TestApp): Promise<string> {
  const key = await t.upload();
  const { data } = await t.client.POST('/api/upload-video/request-process', { body: { fileKey: key } });
  return data!.job_id;
}

describe('streamJobEvents', () => {
  it('delivers the "Waiting for the ML server" status within a second of a dispatch the ML server answered 503', async () => {
    const attempts: number[] = [];
    const t = await createTestApp({}, () => {
      attempts.push(Date.now());
      return new Response('busy', { status: 503 });
    }, { isolatedDatabase: true });
    try {
      const id = await newJob(t);
      const stream = await t.fetch(`${PUBLIC_BASE}/api/upload-video/status/${id}/events`);
      expect(stream.status).toBe(200);
      const events = collect(stream.body!);
      await vi.waitFor(() => expect(events.seen[0]?.status).toMatchObject({ status: 'pending', message: null }), { timeout: 5_000 });

      await t.dispatcher.tick();
      await vi.waitFor(() => expect(attempts).toHaveLength(1), { timeout: 5_000 });
      // Without a notification the stream would only see this on its 15-second re-read.
      await vi.waitFor(() => expect(events.seen.some((e) => e.status.message === 'Waiting for the ML server')).toBe(true), { timeout: 1_000, interval: 20 });
      const waiting = events.seen.find((e) => e.status.message === 'Waiting for the ML server')!;
      expect(waiting.status.status).toBe('pending');
      expect(waiting.at - attempts[0]!).toBeLessThan(1_000);
      await events.stop();
    } finally {
      await t.close();
    }
  });
});
