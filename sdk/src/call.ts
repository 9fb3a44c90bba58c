/**
 * One backend call through openapi-fetch: a 2xx must be JSON, every failure becomes an EcgApiError.
 * @internal
 * @module
 */
import type { Middleware } from 'openapi-fetch';
import { EcgApiError, errorFromResponse, readPayload, redactUrl } from './errors.js';
import { isAbortLike, isTransientStatus } from './internal.js';

/**
 * @internal A per-request middleware: an error answer becomes an {@link EcgApiError} naming the
 * request, and a success that is not JSON is an error too, not a crash in JSON.parse. (A 304 is
 * left to the poller.)
 */
export const expectJson: Middleware = {
  async onResponse({ request, response }) {
    if (response.status === 304 || response.status === 204) return undefined;
    if (!response.ok) throw errorFromResponse(response, await readPayload(response), request);
    const type = response.headers.get('Content-Type') ?? '';
    if (/[/+]json\b/i.test(type)) return undefined;
    void response.body?.cancel().catch(() => {});
    throw new EcgApiError({
      status: response.status,
      code: 'INVALID_RESPONSE',
      message: `Expected a JSON answer to ${request.method} ${redactUrl(request.url)}, got ${type || 'no content type'} (HTTP ${response.status}).`,
      requestId: response.headers.get('X-Request-Id') ?? undefined,
      method: request.method,
      url: redactUrl(request.url),
    });
  },
};

/** @internal Unwraps an openapi-fetch answer: the data of a 2xx, else an {@link EcgApiError}. */
export async function call<D>(pending: Promise<{ data?: D; error?: unknown; response: Response }>): Promise<D> {
  let answer: { data?: D; error?: unknown; response: Response };
  try {
    answer = await pending;
  } catch (err) {
    if (err instanceof EcgApiError || isAbortLike(err)) throw err;
    // A JSON answer that does not parse is a broken answer, not a broken connection.
    if (err instanceof SyntaxError) throw new EcgApiError({ status: 0, code: 'INVALID_RESPONSE', message: `The answer is not valid JSON: ${err.message}`, cause: err });
    throw new EcgApiError({ status: 0, code: 'NETWORK_ERROR', message: err instanceof Error ? err.message : String(err), cause: err });
  }
  const { data, error, response } = answer;
  if (response.ok && data !== undefined) return data;
  if (response.ok) throw new EcgApiError({ status: response.status, code: 'INVALID_RESPONSE', message: 'The answer has no body.' });
  throw errorFromResponse(response, error);
}

/** @internal Whether an error may go away by itself (no answer, a broken answer, 5xx, 429). */
export const isTransient = (err: EcgApiError): boolean =>
  err.code === 'NETWORK_ERROR' || err.code === 'INVALID_RESPONSE' || isTransientStatus(err.status);

