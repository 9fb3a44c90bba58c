/**
 * The hottest requests, answered straight from the `node:http` request listener in front of Hono's
 * (server/serve.ts): the status poll (`GET /api/upload-video/status/{job_id}`, with or without
 * `If-None-Match`) and the ML callbacks, on the shared paths (`POST /api/upload-video/result`,
 * `POST /api/v1/ml/ml-results`; Standard Webhooks-signed, `X-Signature-256`-signed, or unsigned
 * where that is allowed) or sent to a per-job token URL (`POST /api/ml-callback/{token}/...`,
 * either path). They skip Hono's routing, its Request/Response
 * objects and its middleware chain, and answer exactly as the Hono app does: the same code decides
 * (server/domain/job-status.ts, the callback receiver of server/routes/callbacks.routes.ts), the
 * same headers go out (request id, security headers, CORS, ETag, Cache-Control), the same
 * request-duration and callback metrics and the same access log line are written.
 * test/backend/hot-paths-parity.test.ts sends one battery of requests to both and compares the
 * answers, the metrics and the logs. Callbacks here store a large result piece by piece
 * (docs/results.md, "Large results").
 *
 * Everything else falls through to Hono, untouched: other methods and paths, query strings and
 * escapes, header values the route validators would refuse, a callback with both kinds of
 * signature or refused by its headers alone, an unknown token, a body without a `Content-Length` or over the
 * limit, and every request that fails before anything was changed (a bad signature, JSON that does
 * not parse or validate, a status read that throws). A callback whose body was already read is
 * handed over with it (`rawBody`, which @hono/node-server reads instead of the stream).
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { Hono } from 'hono';
import { cors } from 'hono/cors';
import { secureHeaders } from 'hono/secure-headers';
import { regexes } from 'zod';
import { BODY_LIMITS, type CallbackAuth, corsOptions, errorAnswer, loggablePath, type RouteContext, SECURE_HEADERS } from '../context.js';
import { looksLikeCallbackToken } from '../domain/callback-token.js';
import { jobStatusAnswers } from '../domain/job-status.js';
import * as v11 from '../generated/v1.1/routes.js';
import { scanCallback } from '../jobs/callback-body.js';
import { callbackReceiver } from '../routes/callbacks.routes.js';
import { authEnabled, resolveOwner, safeEqual } from './auth.js';
import { bodyBuffers } from './body-buffers.js';
import { hmacSignature, standardWebhookCheck } from './callback-auth.js';
import { callbackOutcome } from './metrics-http.js';
import { signedHeadersProblem } from './preauth.js';
import { hmacDeliveryId } from './replay-guard.js';

export type NodeListener = (req: IncomingMessage, res: ServerResponse) => void;

/** Who sent a callback, judged from its bytes; `undefined`: not proven here. */
type CallbackAuthOf = (raw: Buffer) => { via: CallbackAuth; webhookId?: string; tokenJobId?: string } | undefined;

export interface HotPaths {
  /** Answers `req` when it is one of the hot requests; otherwise (or later, before any change) calls `next`. */
  handle(req: IncomingMessage, res: ServerResponse, next: NodeListener): void;
  /** Settles once the lean path takes requests (it needs the app's header set first). */
  readonly ready: Promise<void>;
  /** Requests answered here rather than by Hono, for tests. */
  readonly served: number;
}

const STATUS_PREFIX = '/api/upload-video/status/';
/** The shared callback paths, each its own route template (v1.1's, then the legacy v1.0 path). */
const SIGNED_ROUTES = new Map([
  ['/api/upload-video/result', '/api/upload-video/result'],
  ['/api/v1/ml/ml-results', '/api/v1/ml/ml-results'],
]);
/** The per-job callback base, and the route templates of the paths under it, by what follows the token. */
const TOKEN_PREFIX = '/api/ml-callback/';
const TOKEN_ROUTES = new Map([
  ['/api/upload-video/result', '/api/ml-callback/:callback_token/api/upload-video/result'],
  ['/api/v1/ml/ml-results', '/api/ml-callback/:callback_token/api/v1/ml/ml-results'],
]);
/** The route templates the metrics label these answers with, as Hono names them. */
const STATUS_ROUTE = '/api/upload-video/status/:job_id';
/** The app's content-type check (server/app.ts) and the JSON validator's, both of which must pass. */
const JSON_TYPE = /^application\/([a-z.+-]+\+)?json\s*(;|$)/i;
const VALIDATOR_JSON_TYPE = /^application\/([a-z-.]+\+)?json(;\s*[a-zA-Z0-9-]+=([^;]+))*$/;
/** Headers Node keeps only the first of, where Hono would see them joined: such a request falls through. */
const SINGLE = new Set(['authorization', 'x-request-id', 'content-type', 'content-length', 'origin']);
const REQUEST_ID = /[^\w\-=]/;
/** Bodies from this size on are read into a pooled buffer (server/http/body-buffers.ts). */
const POOLED_FROM = 64 * 1024;

function repeatsSingleHeader(raw: string[]): boolean {
  let seen = 0;
  for (let i = 0; i < raw.length; i += 2) {
    const name = raw[i]!.toLowerCase();
    if (!SINGLE.has(name)) continue;
    const bit = name === 'authorization' ? 1 : name === 'x-request-id' ? 2 : name === 'content-type' ? 4 : name === 'content-length' ? 8 : 16;
    if (seen & bit) return true;
    seen |= bit;
  }
  return false;
}

/** The headers every answer of the app carries (security headers and CORS), as Hono's middleware sets them. */
async function baseHeaders(ctx: RouteContext): Promise<string[]> {
  const probe = new Hono();
  probe.use(secureHeaders(SECURE_HEADERS));
  probe.use(cors(corsOptions(ctx.deps.config)));
  probe.get('/', (c) => c.body(null, 204));
  const res = await probe.request('/');
  const out: string[] = [];
  res.headers.forEach((value, name) => {
    // Per request: set below from the request's Origin.
    if (name !== 'access-control-allow-origin') out.push(name, value);
  });
  return out;
}

export function createHotPaths(ctx: RouteContext): HotPaths {
  const { deps, jobs, metrics } = ctx;
  const { config, logger } = deps;
  const statusAnswer = jobStatusAnswers(config, jobs, deps.events.versions);
  const receive = callbackReceiver(deps, jobs);
  const webhooks = config.webhooks;
  const verify = webhooks.secret ? standardWebhookCheck(webhooks.secret) : undefined;
  const origins = config.corsOrigins.length > 0 ? config.corsOrigins : undefined;
  // In open mode there is no caller to resolve: the common 304 is then answered without waiting.
  const open = !authEnabled(config.auth);
  // The route's own validator, as a regular expression: z.uuid() (test/backend/hot-paths-parity.test.ts).
  const uuid = regexes.uuid();
  const callbackHeaders = v11.receiveMlResult.request.headers;

  const buffers = bodyBuffers();
  let base: string[] | undefined;
  let served = 0;
  // Until the headers are known (the first milliseconds), everything goes to Hono.
  const ready = baseHeaders(ctx).then((h) => {
    base = h;
  });

  /** The request id, as hono/request-id picks it. */
  const requestIdOf = (req: IncomingMessage) => {
    const given = req.headers['x-request-id'];
    return typeof given === 'string' && given !== '' && given.length <= 100 && !REQUEST_ID.test(given) ? given : crypto.randomUUID();
  };

  function send(req: IncomingMessage, res: ServerResponse, a: { requestId: string; started: number; route: string; status: number; headers: string[]; body?: string }) {
    // A flat [name, value, ...] list: what Node writes with the least work.
    const headers = base!.concat('x-request-id', a.requestId, a.headers);
    if (origins) {
      const origin = req.headers.origin ?? '';
      if (origins.includes(origin)) headers.push('access-control-allow-origin', origin);
    } else headers.push('access-control-allow-origin', '*');
    if (a.body !== undefined) headers.push('content-length', String(Buffer.byteLength(a.body)));
    served += 1;
    res.writeHead(a.status, headers);
    res.end(a.body);
    const seconds = (performance.now() - a.started) / 1000;
    metrics.httpDuration.observe({ method: req.method!, route: a.route, status: String(a.status) }, seconds);
    logger.info('request', { request_id: a.requestId, method: req.method, path: loggablePath(req.url!), status: a.status, ms: Math.round(seconds * 10_000) / 10 });
  }

  async function status(req: IncomingMessage, res: ServerResponse, next: NodeListener, jobId: string, ifNoneMatch: string | undefined) {
    const started = performance.now();
    let answer;
    try {
      const caller = open ? null : await resolveOwner(config.auth, req.headers.authorization);
      const cached = ifNoneMatch === undefined ? undefined : statusAnswer.notModified(caller, jobId, ifNoneMatch);
      answer = cached !== undefined ? ({ status: 304, etag: cached } as const) : await statusAnswer(caller, jobId, ifNoneMatch);
    } catch {
      // Nothing changed yet: Hono answers (and logs) the error as it always does.
      next(req, res);
      return;
    }
    const headers = ['cache-control', 'no-cache', 'etag', answer.etag];
    if (answer.status === 304) send(req, res, { requestId: requestIdOf(req), started, route: STATUS_ROUTE, status: 304, headers });
    else send(req, res, { requestId: requestIdOf(req), started, route: STATUS_ROUTE, status: 200, headers: [...headers, 'content-type', 'application/json'], body: answer.body });
  }

  /**
   * The body, whole. A large one is read into a pooled buffer (server/http/body-buffers.ts), given
   * back by `release` once the callback has been answered; a small one is gathered as it comes.
   */
  function readBody(req: IncomingMessage, length: number): Promise<{ bytes: Buffer; release: () => void }> {
    const lease = length >= POOLED_FROM ? buffers.take(length) : undefined;
    return new Promise((resolve, reject) => {
      let chunks: Buffer[] = [];
      let size = 0;
      const onData = (chunk: Buffer) => {
        if (lease) chunk.copy(lease.bytes, size);
        else chunks.push(chunk);
        size += chunk.length;
      };
      req.on('data', onData);
      req.once('end', () => {
        req.off('data', onData);
        if (lease) return resolve({ bytes: lease.bytes.subarray(0, size), release: () => lease.release() });
        const body = chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks, size);
        // The listeners live as long as the request: they must not keep the pieces too.
        chunks = [];
        resolve({ bytes: body, release: () => {} });
      });
      req.once('error', (err) => {
        lease?.release();
        reject(err);
      });
    });
  }

  /**
   * Applies a callback whose headers already passed, answering as the Hono route would: `auth`
   * (after the body is read) says who sent it, or `undefined` to hand the request to Hono. A result
   * object stays in the body, located but never built as one tree (server/jobs/callback-body.ts): a
   * 60-minute result is megabytes.
   */
  async function callback(req: IncomingMessage, res: ServerResponse, next: NodeListener, opts: { route: string; length: number; auth: CallbackAuthOf }) {
    const started = performance.now();
    const requestId = requestIdOf(req);
    let body;
    try {
      body = await readBody(req, opts.length);
    } catch {
      return; // the client went away
    }
    const auth = opts.auth(body.bytes);
    const data = auth === undefined ? undefined : scanCallback(body.bytes);
    if (auth === undefined || data === undefined) {
      // Hono answers; the bytes are now its own, never given back to the pool.
      (req as IncomingMessage & { rawBody?: Buffer }).rawBody = body.bytes;
      next(req, res);
      return;
    }
    let status: number;
    let answer: unknown;
    let headers: string[] = [];
    let ack: string | undefined;
    try {
      const received = await receive(data.callback, { ...auth, requestId }, data.result);
      status = 200;
      answer = received;
      ack = received.status;
    } catch (err) {
      const e = errorAnswer(err, logger, requestId, req.url!);
      status = e.status;
      answer = e.body;
      headers = Object.entries(e.headers).flat();
    } finally {
      body.release();
    }
    send(req, res, { requestId, started, route: opts.route, status, headers: [...headers, 'content-type', 'application/json'], body: JSON.stringify(answer) });
    metrics.callbacks.inc({ auth: auth.via, outcome: callbackOutcome(status, ack) });
  }

  /** Whether a callback's body headers are ones every callback route accepts as they are. */
  function plainBody(h: IncomingMessage['headers']): number | undefined {
    const type = h['content-type'] ?? '';
    const length = Number(h['content-length']);
    if (
      h['transfer-encoding'] !== undefined ||
      !(Number.isInteger(length) && length >= 0 && length <= BODY_LIMITS.callback && h['content-length'] === String(length)) ||
      !JSON_TYPE.test(type) ||
      !VALIDATOR_JSON_TYPE.test(type)
    ) {
      return undefined;
    }
    return length;
  }

  /**
   * A callback on either shared path, authenticated as the route's middleware does it
   * (server/http/callback-auth.ts): a Standard Webhooks signature, else an `X-Signature-256`, else
   * none when unsigned callbacks are allowed. The headers must already pass the checks made before
   * the body (server/http/preauth.ts); a request carrying both signatures is left to Hono.
   */
  function sharedCallback(req: IncomingMessage, res: ServerResponse, next: NodeListener, route: string) {
    const h = req.headers;
    const length = plainBody(h);
    // Node joins repeated headers of these names, as Hono's Headers do.
    const signature = h['webhook-signature'] as string | undefined;
    const hmac = h['x-signature-256'] as string | undefined;
    if (
      length === undefined ||
      (signature !== undefined && hmac !== undefined) ||
      signedHeadersProblem(webhooks, (name) => h[name] as string | undefined) !== null ||
      !callbackHeaders.safeParse(h).success
    ) {
      return next(req, res);
    }
    let auth: CallbackAuthOf;
    if (signature !== undefined) {
      const webhookId = h['webhook-id'] as string;
      auth = (raw) => (verify!(raw, webhookId, h['webhook-timestamp'] as string, signature) ? { via: 'signature' as const, webhookId } : undefined);
    } else if (hmac !== undefined) {
      const given = hmac.trim().toLowerCase();
      const webhookId = hmacDeliveryId(hmac);
      auth = (raw) => (safeEqual(given, hmacSignature(webhooks.secret!, raw)) ? { via: 'hmac' as const, webhookId } : undefined);
    } else {
      auth = () => ({ via: 'unsigned' as const });
    }
    void callback(req, res, next, { route, length, auth });
  }

  /** A callback to a per-job token URL: the token must name a job before a byte of the body is read. */
  async function tokenCallback(req: IncomingMessage, res: ServerResponse, next: NodeListener, token: string, route: string) {
    const length = plainBody(req.headers);
    let tokenJobId: string | undefined;
    try {
      tokenJobId = length === undefined || !looksLikeCallbackToken(token) ? undefined : await jobs.jobIdForCallbackToken(token);
    } catch {
      tokenJobId = undefined;
    }
    // Hono refuses an unknown token (401, body unread) or whatever else is unusual.
    if (tokenJobId === undefined) return next(req, res);
    const auth = () => ({ via: 'token' as const, tokenJobId });
    await callback(req, res, next, { route, length: length!, auth });
  }

  return {
    ready,
    get served() {
      return served;
    },
    handle(req, res, next) {
      const url = req.url ?? '';
      if (base === undefined || url.includes('%') || url.includes('?') || repeatsSingleHeader(req.rawHeaders)) return next(req, res);
      if (req.method === 'GET' && url.startsWith(STATUS_PREFIX)) {
        const jobId = url.slice(STATUS_PREFIX.length);
        const ifNoneMatch = req.headers['if-none-match'];
        if (!uuid.test(jobId) || (ifNoneMatch !== undefined && ifNoneMatch.length > 200)) return next(req, res);
        void status(req, res, next, jobId, ifNoneMatch);
        return;
      }
      if (req.method !== 'POST') return next(req, res);
      const signedRoute = SIGNED_ROUTES.get(url);
      if (signedRoute !== undefined) return sharedCallback(req, res, next, signedRoute);
      if (url.startsWith(TOKEN_PREFIX)) {
        const slash = url.indexOf('/', TOKEN_PREFIX.length);
        const route = slash === -1 ? undefined : TOKEN_ROUTES.get(url.slice(slash));
        if (route !== undefined) {
          void tokenCallback(req, res, next, url.slice(TOKEN_PREFIX.length, slash), route);
          return;
        }
      }
      next(req, res);
    },
  };
}
