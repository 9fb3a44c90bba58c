/**
 * The Node HTTP server of the service, with limits against clients that never finish a request:
 * a connection that sends its headers too slowly, a body that trickles, a kept-alive connection
 * that idles, more connections than the process should hold. The values come from `Config.http`
 * and are listed in docs/limits.md.
 */
import { createServer, type IncomingMessage, type Server, type ServerOptions, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { serve, type ServerType } from '@hono/node-server';
import type { Config } from './config.js';
import type { HotPaths, NodeListener } from './http/hot-paths.js';

export type HttpLimits = Config['http'];

/**
 * Uploads to the embedded storage may legitimately take hours; they have an idle limit of their
 * own (`uploadIdleTimeoutMs`, in the storage routes) instead of a total one.
 */
function isUpload(req: IncomingMessage): boolean {
  return req.method === 'PUT' && (req.url ?? '').startsWith('/storage/');
}

const REQUEST_TIMEOUT_RESPONSE = 'HTTP/1.1 408 Request Timeout\r\nConnection: close\r\nContent-Length: 0\r\n\r\n';

/** Ends a request that did not arrive in time, as Node does for its own request timeout. */
function dropLateRequest(req: IncomingMessage, res: ServerResponse): void {
  const socket = req.socket;
  if (!res.headersSent && socket.writable) socket.write(REQUEST_TIMEOUT_RESPONSE);
  socket.destroy();
}

/** Applies `limits` to a Node HTTP server: what `createServer` options cannot express. */
export function applyHttpLimits(server: Server, limits: HttpLimits): void {
  server.maxConnections = limits.maxConnections;
  server.setTimeout(limits.idleTimeoutMs);
  // Node answers a late header block with 408 and, without this listener, may leave a connection
  // that never sent a byte open; close it in every case.
  server.on('clientError', (err: NodeJS.ErrnoException, socket) => {
    if (socket.writable && err.code === 'ERR_HTTP_REQUEST_TIMEOUT') socket.write(REQUEST_TIMEOUT_RESPONSE);
    socket.destroy();
  });
  // Node's own requestTimeout would also cut long uploads, so the total limit is applied here,
  // per request, to everything else.
  server.on('request', (req: IncomingMessage, res: ServerResponse) => {
    if (isUpload(req) || req.complete) return;
    const timer = setTimeout(() => {
      if (!req.complete) dropLateRequest(req, res);
    }, limits.requestTimeoutMs);
    timer.unref();
    const clear = () => clearTimeout(timer);
    req.once('end', clear);
    req.once('close', clear);
    res.once('finish', clear);
  });
}

/** Options for `http.createServer` that follow from `limits`. */
export function httpServerOptions(limits: HttpLimits) {
  return {
    requestTimeout: 0, // replaced by the per-request limit above
    headersTimeout: limits.headersTimeoutMs,
    keepAliveTimeout: limits.keepAliveTimeoutMs,
    // How often Node checks the headers timeout: often enough to enforce it within a quarter of it.
    connectionsCheckingInterval: Math.max(100, Math.min(1000, Math.floor(limits.headersTimeoutMs / 4))),
  };
}

/**
 * Serves `fetch` on `port`/`hostname` with the limits applied.
 *
 * @example
 * const server = serveWithLimits({ fetch: app.fetch, port: 8000, hostname: '0.0.0.0', limits: config.http }, (info) => log(info));
 */
export function serveWithLimits(
  opts: {
    fetch: (req: Request, env: unknown) => Response | Promise<Response>;
    port: number;
    hostname: string;
    limits: HttpLimits;
    /** Answers the hottest requests before Hono sees them (server/http/hot-paths.ts). */
    hotPaths?: HotPaths | undefined;
  },
  onListening: (info: AddressInfo) => void,
  /** A failure to listen (EADDRINUSE, EACCES, ...); without it, Node would throw it as an uncaught exception. */
  onListenError?: (err: NodeJS.ErrnoException) => void,
): ServerType {
  const hot = opts.hotPaths;
  const server = serve(
    {
      fetch: opts.fetch,
      port: opts.port,
      hostname: opts.hostname,
      serverOptions: httpServerOptions(opts.limits),
      ...(hot ? { createServer: ((options: ServerOptions, hono: NodeListener) => createServer(options, (req, res) => hot.handle(req, res, hono))) as typeof createServer } : {}),
    },
    onListening,
  );
  if (onListenError) {
    const failed = (err: NodeJS.ErrnoException) => onListenError(err);
    server.once('error', failed);
    server.once('listening', () => server.off('error', failed));
  }
  applyHttpLimits(server as Server, opts.limits);
  return server;
}
