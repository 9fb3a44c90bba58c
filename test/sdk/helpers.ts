/** Helpers for the SDK tests: serve a Hono app on 127.0.0.1, or call it directly as a fetch. */
import type { AddressInfo } from 'node:net';
import { serve } from '@hono/node-server';
import type { Hono } from 'hono';

export interface Served {
  url: string;
  close(): Promise<void>;
}

/** Serves `app` on an ephemeral port of 127.0.0.1. */
export function listen(app: Hono): Promise<Served> {
  return new Promise((resolve) => {
    const server = serve({ fetch: app.fetch, port: 0, hostname: '127.0.0.1' }, (info: AddressInfo) => {
      resolve({
        url: `http://127.0.0.1:${info.port}`,
        close: () =>
          new Promise<void>((done) => {
            const s = server as unknown as { close(cb: () => void): void; closeAllConnections?: () => void };
            s.closeAllConnections?.();
            s.close(() => done());
          }),
      });
    });
  });
}

/** A fetch that calls the app in process (no sockets). */
export const appFetch =
  (app: Hono) =>
  (req: Request): Promise<Response> =>
    Promise.resolve(app.fetch(req));

/** A port nothing listens on (bound then released). */
export async function closedPort(): Promise<number> {
  const { createServer } = await import('node:net');
  return new Promise((resolve) => {
    const s = createServer();
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address() as AddressInfo;
      s.close(() => resolve(port));
    });
  });
}

/** A JobStatusResponse for tests. */
export function jobStatus(
  jobId: string,
  status: 'pending' | 'processing' | 'completed' | 'failed' | 'cancelled',
  progress: number,
  extra: Record<string, unknown> = {},
) {
  return {
    job_id: jobId,
    status,
    progress,
    message: status,
    language: 'auto',
    created_at: '2025-09-11T03:45:48Z',
    updated_at: '2025-09-11T03:46:30Z',
    ...extra,
  };
}

export const sampleResult = {
  text: 'Hello there.',
  language: 'en',
  duration: 2.5,
  metadata: {
    filename: 'clip.mp4',
    duration: 2.5,
    language: 'en',
    model_version: 'whisperx-large-v3',
    processing_time: 1.2,
    total_segments: 1,
    unique_speakers: 1,
  },
  speakers: ['SPEAKER_00'],
  segments: [
    {
      id: 0,
      start: 0,
      end: 2.5,
      text: 'Hello there.',
      speaker: { speaker_id: 'SPEAKER_00' },
      words: [{ word: 'Hello', start: 0, end: 0.8, confidence: 0.98, volume_db: -20, pitch_hz: 180 }],
    },
  ],
};

/** An SSE `status` event. */
export const sse = (data: unknown) => `event: status\ndata: ${JSON.stringify(data)}\n\n`;

/** A text/event-stream Response from chunks, optionally left open (never closed). */
export function eventStream(chunks: string[], opts: { keepOpen?: boolean; delayMs?: number } = {}): Response {
  const encoder = new TextEncoder();
  const body = new ReadableStream<Uint8Array>({
    async start(controller) {
      for (const chunk of chunks) {
        if (opts.delayMs) await new Promise((r) => setTimeout(r, opts.delayMs));
        controller.enqueue(encoder.encode(chunk));
      }
      if (!opts.keepOpen) controller.close();
    },
  });
  return new Response(body, { headers: { 'Content-Type': 'text/event-stream', 'Cache-Control': 'no-cache' } });
}
