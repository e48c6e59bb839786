import cors from '@fastify/cors';
import type { FastifyInstance, FastifyRequest, FastifyServerOptions, RouteOptions } from 'fastify';
import { checkAccess, checkAccessNow, type Authenticator } from '../../auth/authenticator.js';
import { hostAllowed, originAllowed, type HostPolicy } from '../../auth/network-policy.js';
import { ANONYMOUS, isAccessLevel, type AccessLevel, type Principal } from '../../auth/principal.js';
import { ModelMoraError } from '../../domain/errors.js';

/**
 * Access control of the REST skin. Every route declares what it needs next to its definition
 * (`config: { access: 'admin' }`, or `access` of a modelRoute); a route without one makes
 * buildApp fail, so nothing is served by accident. Each request then passes, in its onRequest
 * hook (before the body is read): the Host allow-list (DNS rebinding), the Origin check
 * (cross-origin writes), and checkAccess, the rule set gRPC uses too.
 */

export interface RestSecurity {
  auth: Authenticator;
  /** Host allow-list; undefined serves any Host (non-loopback bind without allowed_hosts). */
  hosts?: HostPolicy | undefined;
  /** Origins allowed to call from a browser; empty or absent: CORS off. */
  corsOrigins?: readonly string[];
}

declare module 'fastify' {
  interface FastifyContextConfig {
    /** What a caller needs to reach the route (see AccessLevel). */
    access?: AccessLevel;
  }
  interface FastifyRequest {
    /** Who is calling; ANONYMOUS on public routes and when auth is off. */
    principal: Principal;
  }
  interface FastifyInstance {
    /** Every route with its access level, as registered (the completeness test reads it). */
    accessTable: Array<{ method: string; url: string; access: AccessLevel }>;
  }
}

/**
 * Routes other plugins register, which cannot carry our config: Swagger UI's pages (public, as
 * the OpenAPI document is) and the CORS preflight route (browsers send preflights without
 * credentials; the Origin check in the hook guards them).
 */
const PLUGIN_ROUTES: ReadonlyArray<{ test: (route: RouteOptions) => boolean; access: AccessLevel }> = [
  { test: (route) => route.url === '/docs' || route.url.startsWith('/docs/'), access: 'public' },
  { test: (route) => route.method === 'OPTIONS' && route.url === '*', access: 'public' },
];

/** Must run before any route is registered. */
export function installAccessDeclarations(app: FastifyInstance): void {
  const table: FastifyInstance['accessTable'] = [];
  app.decorate('accessTable', table);
  app.decorateRequest('principal', null as unknown as Principal);
  app.addHook('onRoute', (route) => {
    let access = route.config?.access;
    if (access === undefined) {
      const known = PLUGIN_ROUTES.find((p) => p.test(route));
      if (known) route.config = { ...route.config, access: known.access } as typeof route.config;
      access = known?.access;
    }
    const methods = Array.isArray(route.method) ? route.method : [route.method];
    if (!isAccessLevel(access)) {
      throw new Error(`Route ${methods.join(',')} ${route.url} declares no access level (config.access)`);
    }
    for (const method of methods) table.push({ method, url: route.url, access });
  });
}

/** The per-request checks and CORS; after the routes' declarations, before the plugins that serve. */
export async function installAccessChecks(app: FastifyInstance, security: RestSecurity | undefined): Promise<void> {
  const corsOrigins = security?.corsOrigins ?? [];
  const hostServed = hostCheck(security?.hosts);
  // A callback hook: with auth off (or a public route) it finishes without a promise.
  app.addHook('onRequest', (request, _reply, done) => {
    let principal: Principal | undefined;
    const access = { authorization: request.headers.authorization, tokenInQuery: hasQueryToken(request.url) };
    const need = accessOf(request);
    try {
      if (!hostServed(request.headers.host)) {
        throw new ModelMoraError('FORBIDDEN', 'This Host name is not served here (set allowed_hosts to serve it)');
      }
      if (!originAllowed(request.method, header(request, 'origin'), request.headers.host, corsOrigins)) {
        throw new ModelMoraError('FORBIDDEN', 'Cross-origin request refused (the origin is not in cors_origins)');
      }
      principal = checkAccessNow(security?.auth, access, need);
    } catch (err) {
      done(err as Error);
      return;
    }
    if (principal !== undefined) {
      request.principal = principal;
      done();
      return;
    }
    checkAccess(security?.auth, access, need).then((checked) => {
      request.principal = checked;
      done();
    }, done);
  });
  // Registered after the hook above, so a preflight from an unlisted origin is refused first.
  if (corsOrigins.length > 0) {
    await app.register(cors, {
      origin: [...corsOrigins],
      methods: ['GET', 'HEAD', 'POST', 'PUT', 'DELETE'],
      allowedHeaders: ['authorization', 'content-type', 'x-trace-id'],
      exposedHeaders: ['x-trace-id', 'retry-after', 'location'],
      maxAge: 600,
    });
  }
}

/**
 * hostAllowed, remembering the answer per Host header: clients send the same one or two on
 * every request, and parsing one (an IPv6 test among others) costs more than the lookup. The
 * memory is bounded; it starts over when full.
 */
function hostCheck(policy: HostPolicy | undefined): (host: string | undefined) => boolean {
  if (!policy) return () => true;
  const known = new Map<string, boolean>();
  return (host) => {
    if (host === undefined) return hostAllowed(policy, host);
    let allowed = known.get(host);
    if (allowed === undefined) {
      allowed = hostAllowed(policy, host);
      if (known.size >= 256) known.clear();
      known.set(host, allowed);
    }
    return allowed;
  };
}

/** Unknown paths need a valid token before they learn they are unknown; undeclared means admin. */
function accessOf(request: FastifyRequest): AccessLevel {
  if (request.is404) return 'inference';
  return request.routeOptions.config?.access ?? 'admin';
}

function header(request: FastifyRequest, name: string): string | undefined {
  const value = request.headers[name];
  return Array.isArray(value) ? value[0] : value;
}

const QUERY_TOKEN = /[?&](access_)?token=/i;

function hasQueryToken(url: string): boolean {
  return QUERY_TOKEN.test(url);
}

/**
 * fastify's logger options for the daemon: the Authorization header (and cookies) redacted
 * should a serializer ever log headers, and URLs logged without their query string values of
 * token / access_token (refused, but a client may still send one).
 */
export function restLoggerOptions(level: string): NonNullable<FastifyServerOptions['logger']> {
  return {
    level,
    redact: { paths: ['req.headers.authorization', 'req.headers.cookie', 'req.headers["proxy-authorization"]'], censor: '[redacted]' },
    serializers: {
      req: (req: { method?: string; url?: string }) => ({
        method: req.method,
        url: redactUrl(req.url ?? ''),
      }),
    },
  };
}

export function redactUrl(url: string): string {
  return url.replace(/([?&](?:access_)?token=)[^&#]*/gi, '$1[redacted]');
}

/** The principal of a request, ANONYMOUS when no check ran (a route answered by a plugin). */
export function principalOf(request: FastifyRequest): Principal {
  return request.principal ?? ANONYMOUS;
}
