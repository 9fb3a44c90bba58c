/**
 * Which addresses the backend may send a consumer webhook to (docs/webhooks.md, "SSRF"). A
 * `webhook_url` is chosen by whoever calls request-process, and the backend POSTs to it from inside
 * the deployment: without a rule, a caller could make it reach the metadata service, the database or
 * anything else on a private network. The rule: only public unicast addresses (ipaddr.js's `unicast`
 * range, IPv4-mapped IPv6 read as IPv4), unless `WEBHOOK_ALLOW_PRIVATE` is set.
 *
 * It is checked twice: when the URL is given (a literal address, or the addresses its name resolves
 * to), and at every connection, inside the DNS lookup the HTTP request uses, so a name that is
 * re-pointed at a private address after request-process (DNS rebinding) is still refused.
 */
import { lookup as dnsLookup, type LookupAddress } from 'node:dns';
import { lookup as dnsLookupAsync } from 'node:dns/promises';
import { isIP, type LookupFunction } from 'node:net';
import ipaddr from 'ipaddr.js';

/** Whether an IP address is one a webhook may be sent to without `WEBHOOK_ALLOW_PRIVATE`. */
export function isPublicAddress(address: string): boolean {
  if (!ipaddr.isValid(address)) return false;
  let parsed = ipaddr.parse(address);
  if (parsed.kind() === 'ipv6' && (parsed as ipaddr.IPv6).isIPv4MappedAddress()) parsed = (parsed as ipaddr.IPv6).toIPv4Address();
  return parsed.range() === 'unicast';
}

export class WebhookUrlError extends Error {
  override name = 'WebhookUrlError';
}

const MAX_URL_LENGTH = 2048;

/** The URL's own problems (scheme, credentials, length), before any address is looked at. */
export function parseWebhookUrl(raw: string): URL {
  if (raw.length > MAX_URL_LENGTH) throw new WebhookUrlError(`must be at most ${MAX_URL_LENGTH} characters`);
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new WebhookUrlError('must be an absolute http:// or https:// URL');
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new WebhookUrlError('must be an http:// or https:// URL');
  if (url.username !== '' || url.password !== '') throw new WebhookUrlError('must not carry credentials');
  if (url.hash !== '') throw new WebhookUrlError('must not carry a #fragment');
  return url;
}

/** The host of a URL as an address or a name (`[::1]` -> `::1`). */
const hostOf = (url: URL) => url.hostname.replace(/^\[(.*)\]$/, '$1');

/** request-process does not wait longer than this for DNS; a slower answer counts as a DNS failure (delivery checks again). */
const RESOLVE_TIMEOUT_MS = 3000;

function resolveWithin(ms: number) {
  return async (host: string): Promise<string[]> => {
    let timer: NodeJS.Timeout | undefined;
    const late = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(Object.assign(new Error('DNS lookup timed out'), { code: 'ETIMEOUT' })), ms);
    });
    try {
      return (await Promise.race([dnsLookupAsync(host, { all: true, verbatim: true }), late])).map((a) => a.address);
    } finally {
      clearTimeout(timer);
    }
  };
}

/**
 * Vets a `webhook_url` when it is given: a valid http(s) URL whose host is, or resolves only to,
 * public addresses (unless private ones are allowed). A name that does not resolve is refused; a
 * DNS failure of another kind lets the URL through, and delivery checks again.
 */
export async function vetWebhookUrl(raw: string, opts: { allowPrivate: boolean; resolve?: (host: string) => Promise<string[]> }): Promise<string> {
  const url = parseWebhookUrl(raw);
  if (opts.allowPrivate) return url.toString();
  const host = hostOf(url);
  if (isIP(host)) {
    if (!isPublicAddress(host)) throw new WebhookUrlError('points to a private or reserved address; such addresses are refused (WEBHOOK_ALLOW_PRIVATE)');
    return url.toString();
  }
  const resolve = opts.resolve ?? resolveWithin(RESOLVE_TIMEOUT_MS);
  let addresses: string[];
  try {
    addresses = await resolve(host);
  } catch (err) {
    const code = (err as { code?: string }).code;
    if (code === 'ENOTFOUND' || code === 'ENODATA') throw new WebhookUrlError(`host ${host} does not resolve`);
    return url.toString();
  }
  if (addresses.some((a) => !isPublicAddress(a))) throw new WebhookUrlError(`host ${host} resolves to a private or reserved address; such addresses are refused (WEBHOOK_ALLOW_PRIVATE)`);
  return url.toString();
}

/** The error a refused connection fails with; the delivery worker records it as the attempt's error. */
export class BlockedAddressError extends Error {
  override name = 'BlockedAddressError';
  readonly code = 'EBLOCKED';
}

/**
 * A `lookup` for node:http(s) requests that refuses names resolving to a non-public address, at
 * connection time. Node calls no lookup for a literal address: `assertConnectable` covers those.
 */
export const publicOnlyLookup: LookupFunction = (hostname, options, callback) => {
  dnsLookup(hostname, { ...options, all: true }, (err, addresses: LookupAddress[]) => {
    if (err) return void callback(err, '', 0);
    const blocked = addresses.find((a) => !isPublicAddress(a.address));
    if (blocked) return void callback(new BlockedAddressError(`${hostname} resolves to ${blocked.address}, which is not a public address`), '', 0);
    if (options.all) return void (callback as unknown as (e: null, a: LookupAddress[]) => void)(null, addresses);
    const first = addresses[0];
    if (!first) return void callback(Object.assign(new Error(`${hostname} has no address`), { code: 'ENODATA' }), '', 0);
    callback(null, first.address, first.family);
  });
};

/** Throws BlockedAddressError for a URL whose host is a literal non-public address. */
export function assertConnectable(url: URL): void {
  const host = hostOf(url);
  if (isIP(host) && !isPublicAddress(host)) throw new BlockedAddressError(`${host} is not a public address`);
}
