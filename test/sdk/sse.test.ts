import { describe, expect, it } from 'vitest';
import { readSse, type SseEvent } from '../../sdk/src/sse.js';

function streamOf(chunks: (string | Uint8Array)[]): ReadableStream<Uint8Array> {
  const encoder = new TextEncoder();
  return new ReadableStream({
    start(controller) {
      for (const c of chunks) controller.enqueue(typeof c === 'string' ? encoder.encode(c) : c);
      controller.close();
    },
  });
}

async function all(stream: ReadableStream<Uint8Array>): Promise<SseEvent[]> {
  const out: SseEvent[] = [];
  for await (const e of readSse(stream)) out.push(e);
  return out;
}

describe('readSse', () => {
  it('parses fields, joins data lines, ignores comments and unknown fields', async () => {
    const events = await all(streamOf([':hi\n', 'retry: 10\nevent: status\nid: 7\ndata: {"a":\ndata:1}\n\n', 'data: plain\n\n']));
    expect(events).toEqual([
      { event: 'status', data: '{"a":\n1}', id: '7' },
      { event: 'message', data: 'plain', id: '7' },
    ]);
  });

  it('handles CRLF and CR line endings, a CRLF split across chunks, and multi-byte characters split across chunks', async () => {
    const bytes = new TextEncoder().encode('data: 한국어\r\n\r\n');
    const events = await all(
      streamOf(['event: status\r', '\ndata: x\r\r', 'data: y\r\n', '\r\n', bytes.subarray(0, 8), bytes.subarray(8)]),
    );
    expect(events.map((e) => [e.event, e.data])).toEqual([
      ['status', 'x'],
      ['message', 'y'],
      ['message', '한국어'],
    ]);
  });

  it('dispatches an event left pending when the stream ends, and skips events without data', async () => {
    expect(await all(streamOf(['event: status\n\n', 'event: status\ndata: last']))).toEqual([{ event: 'status', data: 'last', id: undefined }]);
  });

  it('handles a large event in many small chunks', async () => {
    const big = 'x'.repeat(200_000);
    const text = `data: ${big}\n\n`;
    const chunks: string[] = [];
    for (let i = 0; i < text.length; i += 1000) chunks.push(text.slice(i, i + 1000));
    const events = await all(streamOf(chunks));
    expect(events).toHaveLength(1);
    expect(events[0]?.data.length).toBe(200_000);
  });
});
