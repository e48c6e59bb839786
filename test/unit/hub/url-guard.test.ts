import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ModelMoraError } from '../../../src/domain/errors.js';
import { checkUrl, createGuardedFetch, guardedLookup, isBlockedAddress, type Resolver } from '../../../src/hub/url-guard.js';

const PUBLIC = '93.184.215.14';

/** A fake DNS: names map to fixed addresses; nothing touches the network. */
const dnsTable: Record<string, string[]> = {
  'files.example.com': [PUBLIC],
  'cdn.example.com': ['2606:2800:21f:cb07:6820:80da:af6b:8b2c'],
  'rebind.example.com': ['10.1.2.3'],
  'mixed.example.com': [PUBLIC, '127.0.0.1'],
  'metadata.google.internal': ['169.254.169.254'],
  'mapped.example.com': ['::ffff:127.0.0.1'],
};
const resolve: Resolver = async (host) => {
  const list = dnsTable[host];
  if (!list) throw Object.assign(new Error('ENOTFOUND'), { code: 'ENOTFOUND' });
  return list.map((address) => ({ address, family: address.includes(':') ? 6 : 4 }));
};

/** A fake server: each URL answers a fixed status and Location. */
function fakeFetch(routes: Record<string, { status: number; location?: string }>, seen: string[]): typeof fetch {
  return (async (input: string | URL | Request, init?: RequestInit) => {
    const url = String(input instanceof Request ? input.url : input);
    seen.push(url);
    assert.equal(init?.redirect, 'manual', 'redirects are followed by the guard, not by fetch');
    const route = routes[url];
    if (!route) return new Response('not found', { status: 404 });
    return new Response(route.status === 200 ? 'weights' : null, { status: route.status, headers: route.location ? { location: route.location } : {} });
  }) as typeof fetch;
}

const REFUSED: [string, string][] = [
  ['loopback', 'https://127.0.0.1/model.onnx'],
  ['loopback elsewhere in 127/8', 'https://127.8.9.10/m'],
  ['metadata IP', 'https://169.254.169.254/latest/meta-data'],
  ['IPv6 loopback', 'https://[::1]/m'],
  ['IPv4-mapped IPv6 loopback', 'https://[::ffff:127.0.0.1]/m'],
  ['IPv4-mapped IPv6 public', `https://[::ffff:${PUBLIC}]/m`],
  ['decimal loopback', 'https://2130706433/m'],
  ['hex loopback', 'https://0x7f000001/m'],
  ['octal loopback', 'https://017700000001/m'],
  ['short loopback', 'https://127.1/m'],
  ['zero address', 'https://0.0.0.0/m'],
  ['zero shorthand', 'https://0/m'],
  ['private 10/8', 'https://10.0.0.1/m'],
  ['private 172.16/12', 'https://172.31.255.1/m'],
  ['private 192.168/16', 'https://192.168.1.1/m'],
  ['CGNAT', 'https://100.64.0.1/m'],
  ['unique local v6', 'https://[fd00:ec2::254]/m'],
  ['link-local v6', 'https://[fe80::1]/m'],
  ['localhost name', 'https://localhost/m'],
  ['localhost subdomain', 'https://a.localhost./m'],
  ['file scheme', 'file:///etc/passwd'],
  ['plain http', 'http://example.com/model.onnx'],
  ['ftp scheme', 'ftp://example.com/m'],
  ['credentials in URL', 'https://user:pw@files.example.com/m'],
  ['not a URL', 'not a url'],
];

for (const [name, url] of REFUSED) {
  test(`refuses ${name}: ${url}`, async () => {
    const seen: string[] = [];
    const guarded = createGuardedFetch({ resolve, fetch: fakeFetch({}, seen) });
    await assert.rejects(guarded(url), (e: unknown) => e instanceof ModelMoraError && e.code === 'URL_NOT_ALLOWED');
    assert.deepEqual(seen, [], 'no request was sent');
  });
}

const REFUSED_BY_DNS: [string, string][] = [
  ['a name resolving to a private address', 'https://rebind.example.com/m'],
  ['a name with one loopback address among public ones', 'https://mixed.example.com/m'],
  ['the metadata name', 'https://metadata.google.internal/computeMetadata/v1/'],
  ['a name resolving to IPv4-mapped loopback', 'https://mapped.example.com/m'],
];
for (const [name, url] of REFUSED_BY_DNS) {
  test(`refuses ${name}`, async () => {
    const seen: string[] = [];
    await assert.rejects(createGuardedFetch({ resolve, fetch: fakeFetch({}, seen) })(url), (e: unknown) => e instanceof ModelMoraError && e.code === 'URL_NOT_ALLOWED');
    assert.deepEqual(seen, []);
  });
}

test('allows a public https host and follows a redirect to another public host', async () => {
  const seen: string[] = [];
  const guarded = createGuardedFetch({
    resolve,
    fetch: fakeFetch({ 'https://files.example.com/m.onnx': { status: 302, location: 'https://cdn.example.com/blob' }, 'https://cdn.example.com/blob': { status: 200 } }, seen),
  });
  const res = await guarded('https://files.example.com/m.onnx');
  assert.equal(res.status, 200);
  assert.equal(await res.text(), 'weights');
  assert.deepEqual(seen, ['https://files.example.com/m.onnx', 'https://cdn.example.com/blob']);
});

const BAD_REDIRECTS: [string, string][] = [
  ['loopback', 'https://127.0.0.1/steal'],
  ['a relative-to-host numeric loopback', 'https://2130706433/'],
  ['plain http', 'http://files.example.com/m'],
  ['a name resolving to a private address', 'https://rebind.example.com/x'],
  ['the metadata address', 'https://169.254.169.254/latest/meta-data/iam'],
];
for (const [name, location] of BAD_REDIRECTS) {
  test(`refuses an https URL redirecting to ${name}`, async () => {
    const seen: string[] = [];
    const guarded = createGuardedFetch({ resolve, fetch: fakeFetch({ 'https://files.example.com/m': { status: 302, location } }, seen) });
    await assert.rejects(guarded('https://files.example.com/m'), (e: unknown) => e instanceof ModelMoraError && e.code === 'URL_NOT_ALLOWED');
    assert.deepEqual(seen, ['https://files.example.com/m'], 'the redirect target was never requested');
  });
}

test('gives up after 5 redirects', async () => {
  const seen: string[] = [];
  const routes: Record<string, { status: number; location: string }> = {};
  for (let i = 0; i < 10; i++) routes[`https://files.example.com/${i}`] = { status: 301, location: `/${i + 1}` };
  await assert.rejects(createGuardedFetch({ resolve, fetch: fakeFetch(routes, seen) })('https://files.example.com/0'), (e: unknown) => e instanceof ModelMoraError && e.code === 'DOWNLOAD_FAILED');
  assert.equal(seen.length, 6);
});

test('the pinned lookup hands the socket only checked addresses', async () => {
  const lookup = guardedLookup(resolve);
  const call = (host: string, all: boolean) =>
    new Promise<unknown>((ok, fail) => lookup(host, { all }, (err, address) => (err ? fail(err) : ok(address))));
  assert.equal(await call('files.example.com', false), PUBLIC);
  assert.deepEqual(await call('files.example.com', true), [{ address: PUBLIC, family: 4 }]);
  await assert.rejects(call('rebind.example.com', false), (e: unknown) => e instanceof ModelMoraError && e.code === 'URL_NOT_ALLOWED');
});

test('address table: blocked and allowed', () => {
  for (const ip of ['127.0.0.1', '10.9.8.7', '172.16.0.1', '192.168.0.1', '169.254.169.254', '100.100.100.200', '0.0.0.0', '::', '::1', 'fe80::1%eth0', 'fc00::1', '::ffff:10.0.0.1', '64:ff9b::a00:1', '2002:7f00:1::', '255.255.255.255', 'not-an-ip']) {
    assert.equal(isBlockedAddress(ip), true, ip);
  }
  for (const ip of [PUBLIC, '8.8.8.8', '1.1.1.1', '172.32.0.1', '100.128.0.1', '2606:4700:4700::1111']) {
    assert.equal(isBlockedAddress(ip), false, ip);
  }
  assert.equal(checkUrl('https://files.example.com/a/model.onnx').hostname, 'files.example.com');
});
