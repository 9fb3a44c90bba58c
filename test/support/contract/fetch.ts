/**
 * The checked fetch the test apps send their traffic through (see test/support/contract.ts): each
 * exchange is checked against the specs and recorded; a response that breaks them throws.
 */
import { checkRequest, checkResponse, checkStatusEvent } from './checks.js';
import { type ContractRecord, currentTest, record, shown, violation } from './records.js';
import { CONTRACT_VERSIONS, contractSpecs, isOutsideContract, mediaType, type RouteMatch } from './spec.js';
import { schemaProblems } from './validate.js';

/** Header a test puts on a request it sends invalid on purpose; stripped before the app sees it. */
export const INVALID_REQUEST_HEADER = 'x-contract-invalid-request';

/** Headers marking a request as deliberately invalid (merge them into the request's headers). */
export function invalidRequest(reason = 'deliberately invalid', headers: Record<string, string> = {}): Record<string, string> {
  return { ...headers, [INVALID_REQUEST_HEADER]: reason.replace(/[^\x20-\x7e]/g, '?').slice(0, 200) || 'invalid' };
}

/** An SSE stream that checks each event as the test reads it, and errors the stream on a violation. */
function checkedEventStream(body: ReadableStream<Uint8Array>, match: RouteMatch, method: string, url: URL, status: number, keep: boolean): ReadableStream<Uint8Array> {
  const decoder = new TextDecoder();
  let buffer = '';
  const checkBlocks = (controller: TransformStreamDefaultController<Uint8Array>, final: boolean) => {
    const blocks = buffer.split(/\r?\n\r?\n/);
    buffer = final ? '' : (blocks.pop() ?? '');
    for (const block of blocks) {
      let event: string | undefined;
      const data: string[] = [];
      for (const line of block.split(/\r?\n/)) {
        if (line.startsWith('event:')) event = line.slice(6).trim();
        else if (line.startsWith('data:')) data.push(line.slice(5).replace(/^ /, ''));
      }
      if (data.length === 0) continue; // comments (keep-alive), ids only
      const problems = checkStatusEvent(match, { event, data: data.join('\n') });
      if (problems.length) controller.error(violation(method, url, status, problems, data.join('\n'), keep));
    }
  };
  return body.pipeThrough(
    new TransformStream<Uint8Array, Uint8Array>({
      transform(chunk, controller) {
        buffer += decoder.decode(chunk, { stream: true });
        checkBlocks(controller, false);
        controller.enqueue(chunk);
      },
      flush(controller) {
        buffer += decoder.decode();
        if (buffer.trim() !== '') checkBlocks(controller, true);
      },
    }),
  );
}

export type AppFetch = (req: Request) => Promise<Response>;

/**
 * Wraps the in-process fetch of the app: every exchange is checked and recorded (see test/support/contract.ts).
 * Returns the response the test reads (the same bytes; SSE bodies are checked as they are read).
 */
export function contractFetch(inner: AppFetch, options: { record?: boolean } = {}): (input: Request | string, init?: RequestInit) => Promise<Response> {
  const keep = options.record ?? true;
  const note = (r: ContractRecord) => keep && record(r);
  return async (input, init) => {
    const original = new Request(input, init);
    const url = new URL(original.url);
    const method = original.method.toUpperCase();
    if (isOutsideContract(method, url.pathname)) return inner(original);

    const headers = new Headers(original.headers);
    const marker = headers.get(INVALID_REQUEST_HEADER);
    headers.delete(INVALID_REQUEST_HEADER);
    const hasBody = method !== 'GET' && method !== 'HEAD' && original.body !== null;
    const bytes = hasBody ? new Uint8Array(await original.arrayBuffer()) : null;
    const request = new Request(original.url, { method, headers, body: bytes, signal: original.signal });
    const bodyText = bytes ? new TextDecoder().decode(bytes) : null;

    const { match, problems: requestProblems } = checkRequest({ method, url: original.url, headers, body: bodyText });
    const res = await inner(request);
    const test = currentTest();

    if (!match) {
      // Not an operation of the spec: the answer must still be the error envelope, with 404 or 405.
      const body = await res.clone().text();
      const problems: string[] = [];
      if (res.status !== 404 && res.status !== 405) problems.push(`unknown route answered ${res.status} (expected 404 or 405)`);
      let json: unknown;
      try {
        json = JSON.parse(body);
      } catch {
        problems.push('unknown route answered without a JSON body');
      }
      if (json !== undefined) problems.push(...schemaProblems(contractSpecs().docs['v1.1'].components.schemas.Error, json, 'error envelope'));
      note({ kind: 'unmatched', test, method, path: url.pathname, status: res.status });
      if (problems.length) throw violation(method, url, res.status, problems, body, keep);
      return res;
    }

    if (requestProblems.length > 0 || marker !== null) {
      note({ kind: 'request', test, deliberate: marker !== null, method, url: shown(url), status: res.status, problems: requestProblems });
    }
    note({
      kind: 'hit',
      method,
      path: match.route.path,
      status: res.status,
      ops: CONTRACT_VERSIONS.flatMap((v) => (match.route.ops[v] ? [`${v} ${match.route.ops[v].operationId}`] : [])),
    });

    const isStream = mediaType(res.headers.get('content-type')) === 'text/event-stream';
    const body = isStream || method === 'HEAD' ? '' : await res.clone().text();
    // A stream's events are checked as the test reads them (below); here its status and headers.
    const problems = checkResponse(match, { status: res.status, headers: res.headers, body, head: method === 'HEAD', query: new URL(url).searchParams });
    if (problems.length) throw violation(method, url, res.status, problems, body, keep);
    if (isStream && res.body) {
      return new Response(checkedEventStream(res.body, match, method, url, res.status, keep), { status: res.status, statusText: res.statusText, headers: res.headers });
    }
    return res;
  };
}
