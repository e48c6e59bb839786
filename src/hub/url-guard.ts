/** Resolves a host name to its addresses (dns.lookup with all: true by default). */
export type Resolver = (hostname: string) => Promise<{ address: string; family: number }[]>;

export interface UrlGuardOptions {
  resolve?: Resolver;
  /** Replaces the pinned undici fetch (tests). Called with redirect: 'manual'. */
  fetch?: typeof fetch;
}
