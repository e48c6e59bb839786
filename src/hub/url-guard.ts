import dns from 'node:dns';
import net from 'node:net';
import { Agent, fetch as undiciFetch } from 'undici';
import { ModelMoraError } from '../domain/errors.js';
import { printable } from './snapshot-check.js';

/**
 * SSRF guard for `source_url`: https only, and never a host that is (or resolves to) a
 * loopback, private, link-local, CGNAT, metadata or otherwise special address. Checked on every
 * redirect, and the address a connection uses is the one that was checked (the lookup is
 * pinned inside the undici Agent), so DNS rebinding between check and connect does not help.
 * The configured hub_url is trusted and does not come through here.
 */

/** Resolves a host name to its addresses (dns.lookup with all: true by default). */
export type Resolver = (hostname: string) => Promise<{ address: string; family: number }[]>;

export interface UrlGuardOptions {
  resolve?: Resolver;
  /** Replaces the pinned undici fetch (tests). Called with redirect: 'manual'. */
  fetch?: typeof fetch;
}

export const MAX_REDIRECTS = 5;

// Two lists: a BlockList matches IPv4 queries against IPv4-mapped IPv6 rules, so v4 and v6 stay apart.
const BLOCKED_V4 = new net.BlockList();
for (const [net4, bits] of [
  ['0.0.0.0', 8], // "this" network; 0.0.0.0 reaches the local host
  ['10.0.0.0', 8],
  ['100.64.0.0', 10], // CGNAT (also Alibaba metadata 100.100.100.200)
  ['127.0.0.0', 8],
  ['169.254.0.0', 16], // link-local, cloud metadata 169.254.169.254
  ['172.16.0.0', 12],
  ['192.0.0.0', 24], // IETF protocol assignments (Oracle metadata 192.0.0.192)
  ['192.0.2.0', 24],
  ['192.88.99.0', 24],
  ['192.168.0.0', 16],
  ['198.18.0.0', 15],
  ['198.51.100.0', 24],
  ['203.0.113.0', 24],
  ['224.0.0.0', 4], // multicast
  ['240.0.0.0', 4], // reserved and broadcast
] as const) {
  BLOCKED_V4.addSubnet(net4, bits, 'ipv4');
}
const BLOCKED_V6 = new net.BlockList();
for (const [net6, bits] of [
  ['::', 96], // unspecified, loopback ::1 and IPv4-compatible
  ['::ffff:0:0', 96], // IPv4-mapped: would reach any IPv4 address, private ones included
  ['64:ff9b::', 96], // NAT64
  ['64:ff9b:1::', 48],
  ['100::', 64], // discard
  ['2001::', 32], // Teredo
  ['2001:db8::', 32],
  ['2002::', 16], // 6to4 embeds an IPv4 address
  ['fc00::', 7], // unique local (AWS metadata fd00:ec2::254)
  ['fe80::', 10], // link-local
  ['fec0::', 10], // old site-local
  ['ff00::', 8], // multicast
] as const) {
  BLOCKED_V6.addSubnet(net6, bits, 'ipv6');
}

/** True when an address must never be contacted for a source_url (also for anything that is not an IP). */
export function isBlockedAddress(address: string): boolean {
  const bare = address.replace(/^\[|\]$/g, '').replace(/%.*$/, '');
  const family = net.isIP(bare);
  if (family === 4) return BLOCKED_V4.check(bare, 'ipv4');
  if (family === 6) return BLOCKED_V6.check(bare, 'ipv6');
  return true;
}

function notAllowed(why: string): ModelMoraError {
  return new ModelMoraError('URL_NOT_ALLOWED', `source_url not allowed: ${why}`);
}

/**
 * Syntax checks that need no DNS: https, no credentials, no IP literal in a blocked range
 * (the WHATWG parser already turns 2130706433, 0x7f000001 and 017700000001 into 127.0.0.1).
 */
export function checkUrl(raw: string | URL): URL {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw notAllowed('not a valid URL');
  }
  if (url.protocol !== 'https:') throw notAllowed(`only https URLs are allowed, not '${printable(url.protocol)}'`);
  if (url.username !== '' || url.password !== '') throw notAllowed('URLs with credentials are not allowed');
  const host = url.hostname.replace(/\.$/, '').toLowerCase();
  if (host === '' || host === 'localhost' || host.endsWith('.localhost')) throw notAllowed(`host '${printable(host)}' is local`);
  const bare = host.replace(/^\[|\]$/g, '');
  if (net.isIP(bare) !== 0 && isBlockedAddress(bare)) throw notAllowed(`address ${bare} is private, loopback or reserved`);
  return url;
}

const systemResolve: Resolver = (hostname) =>
  new Promise((resolve, reject) => {
    dns.lookup(hostname, { all: true, verbatim: true }, (err, addresses) => (err ? reject(err) : resolve(addresses)));
  });

/** Resolves a host and refuses it when any of its addresses is blocked (a mix is refused too). */
export async function checkHost(hostname: string, resolve: Resolver = systemResolve): Promise<{ address: string; family: number }[]> {
  const bare = hostname.replace(/^\[|\]$/g, '');
  if (net.isIP(bare) !== 0) {
    if (isBlockedAddress(bare)) throw notAllowed(`address ${bare} is private, loopback or reserved`);
    return [{ address: bare, family: net.isIP(bare) }];
  }
  let addresses: { address: string; family: number }[];
  try {
    addresses = await resolve(bare);
  } catch {
    throw new ModelMoraError('DOWNLOAD_FAILED', `Could not resolve host '${printable(bare)}'`, { details: { retryable: true } });
  }
  if (addresses.length === 0) throw new ModelMoraError('DOWNLOAD_FAILED', `Host '${printable(bare)}' has no address`);
  const blocked = addresses.find((a) => isBlockedAddress(a.address));
  if (blocked) throw notAllowed(`host '${printable(bare)}' resolves to ${blocked.address}, a private, loopback or reserved address`);
  return addresses;
}

type LookupCallback = (err: NodeJS.ErrnoException | null, address: string | { address: string; family: number }[], family?: number) => void;

/**
 * A net/tls `lookup` that only ever hands out checked addresses: the connection goes to the
 * address that passed the check, not to whatever a second DNS answer says.
 */
export function guardedLookup(resolve: Resolver = systemResolve) {
  return (hostname: string, options: { all?: boolean }, callback: LookupCallback): void => {
    checkHost(hostname, resolve).then(
      (addresses) => {
        if (options.all) callback(null, addresses);
        else callback(null, addresses[0]!.address, addresses[0]!.family);
      },
      (err: NodeJS.ErrnoException) => callback(err, ''),
    );
  };
}

/** The real fetch for source_url: undici with the pinned lookup. */
function pinnedFetch(resolve: Resolver): typeof fetch {
  const agent = new Agent({ connect: { lookup: guardedLookup(resolve) as never } });
  // undici's own fetch takes its Agent; the global fetch may bundle another undici version.
  return ((input: string | URL, init?: RequestInit) =>
    undiciFetch(input, { ...(init as object), dispatcher: agent } as never)) as unknown as typeof fetch;
}

/**
 * fetch for untrusted URLs: every hop (the first URL and each redirect, at most 5) passes
 * checkUrl and checkHost before a request is sent. Returns the final non-redirect response.
 */
export function createGuardedFetch(opts: UrlGuardOptions = {}): (url: string | URL, init?: RequestInit) => Promise<Response> {
  const resolve = opts.resolve ?? systemResolve;
  const doFetch = opts.fetch ?? pinnedFetch(resolve);
  return async (start, init = {}) => {
    let url = checkUrl(start);
    for (let hop = 0; ; hop++) {
      await checkHost(url.hostname, resolve);
      const response = await doFetch(url, { ...init, redirect: 'manual' });
      const location = response.headers.get('location');
      if (response.status < 300 || response.status > 399 || location === null) return response;
      await response.body?.cancel().catch(() => undefined);
      if (hop >= MAX_REDIRECTS) throw new ModelMoraError('DOWNLOAD_FAILED', `source_url redirected more than ${MAX_REDIRECTS} times`);
      let next: URL;
      try {
        next = new URL(location, url);
      } catch {
        throw notAllowed('redirect to an invalid URL');
      }
      url = checkUrl(next);
    }
  };
}
