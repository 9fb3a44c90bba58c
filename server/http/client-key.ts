/**
 * Who a request comes from, for the rate limit (docs/auth.md): the token's owner when there is one,
 * else the client's address. The address is the socket's peer, or, when that peer is a trusted
 * proxy (`TRUSTED_PROXIES`), the nearest untrusted address in `X-Forwarded-For` (proxy-addr's walk
 * from the right). IPv6 clients are grouped by /64: one subscriber usually holds a whole /64, so
 * counting single addresses would give each of them 2^64 budgets.
 */
import { randomUUID } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import type { Context } from 'hono';
import ipaddr from 'ipaddr.js';
import proxyAddr from 'proxy-addr';

export type ClientKeyFn = (c: Context, owner: string | null) => string;

/** An IPv4 address as is, an IPv6 one as its /64 prefix; IPv4-mapped IPv6 addresses as IPv4. */
export function addressGroup(address: string): string {
  if (!ipaddr.isValid(address)) return address;
  let parsed = ipaddr.parse(address);
  if (parsed.kind() === 'ipv6' && (parsed as ipaddr.IPv6).isIPv4MappedAddress()) parsed = (parsed as ipaddr.IPv6).toIPv4Address();
  if (parsed.kind() === 'ipv4') return parsed.toString();
  const parts = (parsed as ipaddr.IPv6).parts.slice(0, 4);
  return `${new ipaddr.IPv6([...parts, 0, 0, 0, 0]).toString()}/64`;
}

/**
 * @example
 * const keyOf = createClientKey(['10.0.0.0/8']);
 * const key = keyOf(c, owner); // 'owner:alice' or 'ip:203.0.113.7' or 'ip:2001:db8:1:2::/64'
 */
export function createClientKey(trustedProxies: string[]): ClientKeyFn {
  const trust = proxyAddr.compile(trustedProxies);
  // Requests without a socket only come from in-process callers (app.fetch): one budget per app.
  const local = `local:${randomUUID()}`;
  return (c, owner) => {
    if (owner) return `owner:${owner}`;
    const incoming = (c.env as { incoming?: IncomingMessage } | undefined)?.incoming;
    if (!incoming?.socket?.remoteAddress) return local;
    // Without headers (an in-process request) there is no forwarding to believe: the socket decides.
    if (!incoming.headers) return `ip:${addressGroup(incoming.socket.remoteAddress)}`;
    return `ip:${addressGroup(proxyAddr(incoming, trust))}`;
  };
}
