/**
 * The Content-Security-Policy of the API reference at /docs (docs/security.md). The page is the one
 * HTML document this service serves: scripts only from our own origin plus the inline start-up
 * script, whose hash is taken from the page itself, so a new Scalar release needs no change here.
 * Scalar injects its styles at run time, hence `'unsafe-inline'` for styles only. No framing.
 */
import { createHash } from 'node:crypto';
import type { MiddlewareHandler } from 'hono';

const INLINE_SCRIPT = /<script(?![^>]*\bsrc=)[^>]*>([\s\S]*?)<\/script>/gi;

export function docsPolicy(html: string): string {
  const hashes = [...html.matchAll(INLINE_SCRIPT)].map((m) => `'sha256-${createHash('sha256').update(m[1] ?? '', 'utf8').digest('base64')}'`);
  return [
    "default-src 'none'",
    `script-src 'self' ${hashes.join(' ')}`.trim(),
    "style-src 'self' 'unsafe-inline'",
    "img-src 'self' data: blob:",
    "font-src 'self' data:",
    "connect-src 'self'",
    "worker-src 'self' blob:",
    "frame-ancestors 'none'",
    "base-uri 'none'",
    "form-action 'none'",
    "object-src 'none'",
  ].join('; ');
}

/** Sets the policy on the HTML answer of the route it wraps. */
export function docsCsp(): MiddlewareHandler {
  let policy: string | undefined;
  return async (c, next) => {
    await next();
    if (!/^text\/html/i.test(c.res.headers.get('content-type') ?? '')) return;
    if (policy === undefined) policy = docsPolicy(await c.res.clone().text());
    c.res.headers.set('Content-Security-Policy', policy);
    c.res.headers.set('X-Frame-Options', 'DENY');
  };
}
