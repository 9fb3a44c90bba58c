/** Who a request comes from, for the rate limit (server/http/client-key.ts). */
import type { IncomingMessage } from 'node:http';
import type { Context } from 'hono';
import { describe, expect, it } from 'vitest';
import { addressGroup, createClientKey } from '../../server/http/client-key.js';

/** Just what the key function reads of a Hono context on the Node server. */
function ctx(remoteAddress: string | undefined, forwardedFor?: string): Context {
  const incoming = { socket: { remoteAddress }, connection: { remoteAddress }, headers: forwardedFor ? { 'x-forwarded-for': forwardedFor } : {} } as unknown as IncomingMessage;
  return { env: { incoming } } as unknown as Context;
}

describe('client keys', () => {
  it('groups IPv6 clients by their /64 and keeps IPv4 addresses whole', () => {
    expect(addressGroup('2001:db8:1:2:aaaa:bbbb:cccc:dddd')).toBe('2001:db8:1:2::/64');
    expect(addressGroup('2001:db8:1:2::9')).toBe(addressGroup('2001:db8:1:2:ffff::1'));
    expect(addressGroup('2001:db8:1:3::9')).not.toBe(addressGroup('2001:db8:1:2::9'));
    expect(addressGroup('203.0.113.7')).toBe('203.0.113.7');
    expect(addressGroup('::ffff:203.0.113.7')).toBe('203.0.113.7');
  });

  it('ignores X-Forwarded-For from a peer that is not a trusted proxy', () => {
    const key = createClientKey([]);
    expect(key(ctx('198.51.100.1', '203.0.113.7'), null)).toBe('ip:198.51.100.1');
  });

  it('believes X-Forwarded-For from a trusted proxy, up to the first untrusted address', () => {
    const key = createClientKey(['10.0.0.0/8']);
    expect(key(ctx('10.1.2.3', '203.0.113.7'), null)).toBe('ip:203.0.113.7');
    // A client cannot pick its key by sending its own X-Forwarded-For: the hop the proxy saw counts.
    expect(key(ctx('10.1.2.3', '192.0.2.99, 203.0.113.7'), null)).toBe('ip:203.0.113.7');
    expect(key(ctx('10.1.2.3', '192.0.2.99, 203.0.113.7, 10.9.9.9'), null)).toBe('ip:203.0.113.7');
    expect(key(ctx('10.1.2.3', '2001:db8:5:6::1'), null)).toBe('ip:2001:db8:5:6::/64');
  });

  it('counts a user with a token by the token owner, wherever the request comes from', () => {
    const key = createClientKey([]);
    expect(key(ctx('198.51.100.1'), 'alice')).toBe('owner:alice');
  });
});
