/**
 * Who is calling and what they may do. Two scopes: `admin` may do everything; `inference` may
 * run inference, see and cancel its own jobs, read the catalog and the status. Every REST route
 * and every RPC declares the access it needs (an AccessLevel); the one check (checkAccess in
 * authenticator.ts) compares the two.
 */

export const SCOPES = ['admin', 'inference'] as const;
export type Scope = (typeof SCOPES)[number];

/**
 * What a route or RPC needs: `public` is open to anyone (health probes, the API description),
 * `metrics` is open unless the metrics_auth setting asks for a token (then any scope), `inference`
 * and `admin` need a token with that scope (admin also passes inference).
 */
export const ACCESS_LEVELS = ['public', 'metrics', 'inference', 'admin'] as const;
export type AccessLevel = (typeof ACCESS_LEVELS)[number];

export function isScope(value: unknown): value is Scope {
  return typeof value === 'string' && (SCOPES as readonly string[]).includes(value);
}

export function isAccessLevel(value: unknown): value is AccessLevel {
  return typeof value === 'string' && (ACCESS_LEVELS as readonly string[]).includes(value);
}

export interface Principal {
  /**
   * Stable name of the caller, recorded as the owner of the jobs it submits: `token:<name>` for a
   * static token, `jwt:<sub>` for a JWT. Never the token itself.
   */
  id: string;
  scope: Scope;
  /** True when auth is off (no token source configured) or the route is public. */
  anonymous: boolean;
}

/** The caller when auth is off: a local developer, allowed everything. */
export const ANONYMOUS: Principal = Object.freeze({ id: 'anonymous', scope: 'admin', anonymous: true });

export function scopeGrants(scope: Scope, need: Scope): boolean {
  return scope === 'admin' || scope === need;
}

/** The owner recorded on a job a principal submits; none when auth is off. */
export function jobOwnerOf(principal: Principal): string | undefined {
  return principal.anonymous ? undefined : principal.id;
}

/**
 * Which jobs a principal may see and cancel: an `inference` caller only its own (others'
 * answer JOB_NOT_FOUND, as if they did not exist); admin and anonymous callers every job.
 */
export function jobAccessOf(principal: Principal): { owner?: string } {
  return principal.anonymous || principal.scope === 'admin' ? {} : { owner: principal.id };
}
