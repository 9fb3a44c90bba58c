/** The SSRF rule of consumer webhooks (server/webhooks/address-policy.ts, docs/webhooks.md). */
import { describe, expect, it } from 'vitest';
import { isPublicAddress, parseWebhookUrl, vetWebhookUrl, WebhookUrlError } from '../../server/webhooks/address-policy.js';

describe('isPublicAddress', () => {
  it('accepts public unicast addresses only', () => {
    for (const a of ['93.184.216.34', '8.8.8.8', '2606:4700:4700::1111']) expect(isPublicAddress(a), a).toBe(true);
    const refused = ['127.0.0.1', '10.1.2.3', '172.16.0.1', '192.168.1.1', '169.254.169.254', '100.64.0.1', '0.0.0.0', '255.255.255.255', '224.0.0.1', '::1', '::', 'fe80::1', 'fd00::1', '::ffff:127.0.0.1', '::ffff:10.0.0.1', 'not-an-ip'];
    for (const a of refused) expect(isPublicAddress(a), a).toBe(false);
  });
});

describe('vetWebhookUrl', () => {
  const publicDns = () => Promise.resolve(['93.184.216.34']);
  it('refuses what is not an http(s) URL, with credentials or a fragment', () => {
    for (const u of ['ftp://example.com/x', 'not a url', 'file:///etc/passwd', 'https://user:pw@example.com/', 'https://example.com/#x', `https://example.com/${'a'.repeat(2100)}`]) {
      expect(() => parseWebhookUrl(u), u).toThrow(WebhookUrlError);
    }
  });

  it('refuses literal private addresses and names that resolve to one, unless private addresses are allowed', async () => {
    await expect(vetWebhookUrl('http://127.0.0.1:8080/hook', { allowPrivate: false })).rejects.toThrow(/private or reserved/);
    await expect(vetWebhookUrl('http://[::1]/hook', { allowPrivate: false })).rejects.toThrow(/private or reserved/);
    await expect(vetWebhookUrl('http://169.254.169.254/latest/meta-data', { allowPrivate: false })).rejects.toThrow(WebhookUrlError);
    await expect(vetWebhookUrl('https://internal.example/hook', { allowPrivate: false, resolve: () => Promise.resolve(['93.184.216.34', '10.0.0.5']) })).rejects.toThrow(/resolves to a private/);
    await expect(vetWebhookUrl('https://nowhere.invalid/hook', { allowPrivate: false, resolve: () => Promise.reject(Object.assign(new Error('x'), { code: 'ENOTFOUND' })) })).rejects.toThrow(/does not resolve/);
    expect(await vetWebhookUrl('https://consumer.example/hook', { allowPrivate: false, resolve: publicDns })).toBe('https://consumer.example/hook');
    expect(await vetWebhookUrl('http://93.184.216.34/x', { allowPrivate: false })).toBe('http://93.184.216.34/x');
    expect(await vetWebhookUrl('http://127.0.0.1:8080/hook', { allowPrivate: true })).toBe('http://127.0.0.1:8080/hook');
  });

  it('lets a URL through when DNS fails for another reason than a missing name (delivery checks again)', async () => {
    expect(await vetWebhookUrl('https://flaky.example/h', { allowPrivate: false, resolve: () => Promise.reject(Object.assign(new Error('x'), { code: 'ETIMEOUT' })) })).toBe('https://flaky.example/h');
  });
});
