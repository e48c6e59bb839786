import { isIP } from 'node:net';

/**
 * Who may reach the REST skin from a browser. DNS rebinding (Ollama's CVE-2024-28224): a web
 * page makes its own name resolve to 127.0.0.1 and then calls the local daemon as "same
 * origin"; the Host header still carries the page's name, so on a loopback bind only loopback
 * names (and the configured allowed_hosts) are served. Cross-origin writes: a page may send a
 * POST or DELETE without asking first (a "simple" request), so a state-changing request whose
 * Origin is neither this server nor a configured cors_origins entry is refused before it runs.
 */

/** 127.0.0.0/8, ::1 (or its IPv4-mapped form) and `localhost`. */
export function isLoopbackHost(host: string): boolean {
  const h = unbracket(host.trim().toLowerCase());
  if (h === 'localhost') return true;
  if (isIP(h) === 4) return h.startsWith('127.');
  if (isIP(h) === 6) return h === '::1' || h === '0:0:0:0:0:0:0:1' || h.startsWith('::ffff:127.');
  return false;
}

export interface HostPolicy {
  /** Host names (no port, lower case, IPv6 in brackets) served besides loopback literals. */
  names: ReadonlySet<string>;
  /** Also serve any loopback IP literal (127.x.y.z, [::1]): true on a loopback bind. */
  loopbackLiterals: boolean;
}

/**
 * The Host allow-list of a bind address: on loopback, localhost, loopback IP literals and
 * `allowed_hosts`; elsewhere only `allowed_hosts` when it is set, else undefined (any Host).
 */
export function hostPolicy(bindHost: string, allowedHosts: readonly string[]): HostPolicy | undefined {
  const names = new Set(allowedHosts.map((h) => hostName(h)).filter((h) => h !== ''));
  if (isLoopbackHost(bindHost)) {
    names.add('localhost');
    return { names, loopbackLiterals: true };
  }
  return names.size > 0 ? { names, loopbackLiterals: false } : undefined;
}

export function hostAllowed(policy: HostPolicy | undefined, hostHeader: string | undefined): boolean {
  if (!policy) return true;
  if (!hostHeader) return false;
  const name = hostName(hostHeader);
  if (policy.names.has(name)) return true;
  return policy.loopbackLiterals && isIP(unbracket(name)) !== 0 && isLoopbackHost(name);
}

/** Methods a page can use to change state; GET and HEAD answers are not readable cross-origin without CORS. */
const STATE_CHANGING = new Set(['POST', 'PUT', 'PATCH', 'DELETE']);

/**
 * Whether a request's Origin may make it: no Origin (not a browser, or a same-origin GET), this
 * server's own origin, or one of `cors_origins`. Reads (GET, HEAD) always pass: without CORS
 * headers the page cannot read the answer. Preflights (OPTIONS) pass only for listed origins.
 */
export function originAllowed(method: string, origin: string | undefined, hostHeader: string | undefined, corsOrigins: readonly string[]): boolean {
  if (origin === undefined) return true;
  const m = method.toUpperCase();
  if (!STATE_CHANGING.has(m) && m !== 'OPTIONS') return true;
  const normal = normalOrigin(origin);
  if (normal !== undefined && corsOrigins.some((o) => normalOrigin(o) === normal)) return true;
  if (m === 'OPTIONS' || normal === undefined || hostHeader === undefined) return false;
  // The Host read with the Origin's scheme, so default ports compare equal (https://h and h:443).
  const own = new URL(normal);
  try {
    return own.host === new URL(`${own.protocol}//${hostHeader.toLowerCase()}`).host;
  } catch {
    return false;
  }
}

/** `HTTPS://Example.com:443/` -> `https://example.com`; `null` and non-http(s) origins -> undefined. */
export function normalOrigin(origin: string): string | undefined {
  try {
    const url = new URL(origin.trim());
    return url.protocol === 'http:' || url.protocol === 'https:' ? url.origin : undefined;
  } catch {
    return undefined;
  }
}

/** `Example.com:8000` -> `example.com`, `[::1]:80` -> `[::1]`, `::1` -> `[::1]`. */
export function hostName(host: string): string {
  const h = host.trim().toLowerCase();
  if (h.startsWith('[')) {
    const end = h.indexOf(']');
    return end < 0 ? h : h.slice(0, end + 1);
  }
  if (isIP(h) === 6) return `[${h}]`;
  const colon = h.lastIndexOf(':');
  return colon < 0 ? h : h.slice(0, colon);
}

function unbracket(host: string): string {
  return host.startsWith('[') && host.endsWith(']') ? host.slice(1, -1) : host;
}
