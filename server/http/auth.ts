/**
 * Optional user authentication (docs/auth.md).
 * With neither `JWT_SECRET` nor `API_TOKENS` the service is open and jobs have no owner.
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import { verify } from 'hono/jwt';
import type { Config } from '../config.js';
import { ApiError } from '../errors.js';

export type AuthConfig = Config['auth'];

export const authEnabled = (auth: AuthConfig) => auth.jwtSecret !== undefined || auth.apiTokens.length > 0;

function bearer(header: string | undefined): string | null {
  const m = /^Bearer\s+(\S+)\s*$/i.exec(header ?? '');
  return m?.[1] ?? null;
}

export function safeEqual(a: string, b: string): boolean {
  const ha = createHash('sha256').update(a).digest();
  const hb = createHash('sha256').update(b).digest();
  return timingSafeEqual(ha, hb);
}

/** Owners are namespaced by how they signed in, so a JWT subject never equals an API token's owner (docs/auth.md). */
export const JWT_OWNER_PREFIX = 'jwt:';
export const TOKEN_OWNER_PREFIX = 'token:';

/** The claims a JWT must carry besides a valid HS256 signature: `exp` always, `iss`/`aud` when configured. */
function acceptedClaims(auth: AuthConfig, payload: Record<string, unknown>): boolean {
  if (typeof payload.exp !== 'number') return false;
  if (auth.jwtIssuer !== undefined && payload.iss !== auth.jwtIssuer) return false;
  if (auth.jwtAudience !== undefined) {
    const aud = payload.aud;
    if (!(aud === auth.jwtAudience || (Array.isArray(aud) && aud.includes(auth.jwtAudience)))) return false;
  }
  return typeof payload.sub === 'string' && payload.sub !== '';
}

/**
 * The owner of the request: `jwt:<sub>` for a JWT, `token:<hash>` for an API token, `null` in open mode.
 * In open mode a Bearer header is ignored (the frontend sends one whenever a user is logged in).
 */
export async function resolveOwner(auth: AuthConfig, authorization: string | undefined): Promise<string | null> {
  if (!authEnabled(auth)) return null;
  const token = bearer(authorization);
  if (!token) throw new ApiError('UNAUTHORIZED', 'A valid bearer token is required.');
  for (const candidate of auth.apiTokens) {
    if (safeEqual(candidate, token)) return `${TOKEN_OWNER_PREFIX}${createHash('sha256').update(token).digest('hex').slice(0, 16)}`;
  }
  if (auth.jwtSecret !== undefined && token.split('.').length === 3) {
    try {
      // RFC 8725: the algorithm is fixed by us, not taken from the token; exp/nbf are checked by verify.
      const payload = await verify(token, auth.jwtSecret, 'HS256');
      if (acceptedClaims(auth, payload)) return `${JWT_OWNER_PREFIX}${payload.sub as string}`;
    } catch {
      // fall through to 401
    }
  }
  throw new ApiError('UNAUTHORIZED', 'A valid bearer token is required.');
}

/**
 * True when a job stored with `rowOwner` belongs to `owner`. Jobs stored before owners were
 * namespaced carry a JWT's bare `sub`; they still belong to that subject (docs/auth.md).
 */
export function sameOwner(rowOwner: string | null, owner: string | null): boolean {
  if (rowOwner === owner) return true;
  return (
    owner !== null &&
    rowOwner !== null &&
    owner.startsWith(JWT_OWNER_PREFIX) &&
    !rowOwner.startsWith(JWT_OWNER_PREFIX) &&
    !rowOwner.startsWith(TOKEN_OWNER_PREFIX) &&
    rowOwner === owner.slice(JWT_OWNER_PREFIX.length)
  );
}

/** The administrator check for `listJobs`; without `ADMIN_TOKEN` the route does not exist (404). */
export function requireAdmin(adminToken: string | undefined, authorization: string | undefined): void {
  if (adminToken === undefined) throw new ApiError('NOT_FOUND', 'No such route.');
  const token = bearer(authorization);
  if (!token || !safeEqual(token, adminToken)) throw new ApiError('UNAUTHORIZED', 'The administrator token is required.');
}

/** True when the request carries the administrator token (`ADMIN_TOKEN`), compared in constant time. */
export function isAdmin(adminToken: string | undefined, authorization: string | undefined): boolean {
  const token = bearer(authorization);
  return adminToken !== undefined && token !== null && safeEqual(token, adminToken);
}
