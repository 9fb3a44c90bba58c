/**
 * A minimal Server-Sent Events reader over a fetch body (no EventSource: it cannot send headers).
 * @internal
 * @module
 */

/** @internal One dispatched event. */
export interface SseEvent {
  event: string;
  data: string;
  id: string | undefined;
}

/**
 * @internal Yields the events of a `text/event-stream` body: `event:`/`data:`/`id:` fields, `data`
 * lines joined by `\n`, comment lines (`:`) ignored, lines ending in CRLF, LF or CR. An event still
 * pending when the stream ends is dispatched too (lenient). `onActivity` is called for every chunk
 * (keep-alive comments included). An aborted `signal` ends the stream. The reader is released on return.
 */
export async function* readSse(
  stream: ReadableStream<Uint8Array>,
  onActivity?: () => void,
  signal?: AbortSignal,
): AsyncGenerator<SseEvent, void, undefined> {
  const reader = stream.getReader();
  // Some fetch implementations do not tie the body to the request's signal: cancel it ourselves.
  const onAbort = () => void reader.cancel(signal?.reason).catch(() => {});
  if (signal?.aborted) onAbort();
  signal?.addEventListener('abort', onAbort, { once: true });
  const decoder = new TextDecoder();
  let buffer = '';
  let scanFrom = 0;
  let event = '';
  let data: string[] = [];
  let id: string | undefined;
  let lastId: string | undefined;

  function* takeLines(final: boolean): Generator<string> {
    for (;;) {
      let i = scanFrom;
      while (i < buffer.length && buffer.charCodeAt(i) !== 10 && buffer.charCodeAt(i) !== 13) i++;
      if (i >= buffer.length) {
        scanFrom = buffer.length;
        if (final && buffer.length > 0) {
          const rest = buffer;
          buffer = '';
          scanFrom = 0;
          yield rest;
        }
        return;
      }
      // A CR at the very end may be the first half of a CRLF split across chunks.
      if (buffer.charCodeAt(i) === 13 && i === buffer.length - 1 && !final) {
        scanFrom = i;
        return;
      }
      const line = buffer.slice(0, i);
      const skip = buffer.charCodeAt(i) === 13 && buffer.charCodeAt(i + 1) === 10 ? 2 : 1;
      buffer = buffer.slice(i + skip);
      scanFrom = 0;
      yield line;
    }
  }

  function* handle(line: string): Generator<SseEvent> {
    if (line === '') {
      if (data.length > 0) {
        lastId = id ?? lastId;
        yield { event: event || 'message', data: data.join('\n'), id: lastId };
      }
      event = '';
      data = [];
      id = undefined;
      return;
    }
    if (line.startsWith(':')) return;
    const colon = line.indexOf(':');
    const field = colon < 0 ? line : line.slice(0, colon);
    let value = colon < 0 ? '' : line.slice(colon + 1);
    if (value.startsWith(' ')) value = value.slice(1);
    if (field === 'event') event = value;
    else if (field === 'data') data.push(value);
    else if (field === 'id') id = value;
  }

  try {
    for (;;) {
      const { value, done } = await reader.read();
      if (done) break;
      onActivity?.();
      buffer += decoder.decode(value, { stream: true });
      for (const line of takeLines(false)) yield* handle(line);
    }
    buffer += decoder.decode();
    for (const line of takeLines(true)) yield* handle(line);
    yield* handle('');
  } finally {
    signal?.removeEventListener('abort', onAbort);
    // Stops the download when the consumer leaves early (terminal event, abort).
    await reader.cancel().catch(() => {});
    reader.releaseLock();
  }
}
