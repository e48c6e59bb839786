import { randomUUID } from 'node:crypto';
import type https from 'node:https';
import Fastify, { type FastifyHttpsOptions, type FastifyInstance, type FastifyServerOptions } from 'fastify';
import type { Config } from '../../config/config.js';
import { installAccessChecks, installAccessDeclarations, type RestSecurity } from './access.js';
import { artifactsPlugin, type ArtifactDeps } from './artifacts.js';
import type { InFlightLimit } from '../../services/in-flight.js';
import type { Services } from '../../services/services.js';
import { ModelMoraError } from '../../domain/errors.js';
import { validatorsWithoutBodyCoercion } from './body-validation.js';
import { installErrorHandlers } from './errors.js';
import { healthPlugin } from './health.js';
import { inferPlugin } from './infer.js';
import { JOB_SCHEMAS } from './job-schemas.js';
import { jobsPlugin } from './jobs.js';
import { lifecyclePlugin } from './lifecycle.js';
import { metricsPlugin } from './metrics.js';
import { modelsPlugin } from './models.js';
import { installJsonBodyParser } from './json-body.js';
import { installOpenApi } from './openapi.js';
import { SHARED_SCHEMAS } from './schemas.js';
import { isUuid } from '../../domain/uuid.js';

/** The REST skin's own options beside the services it maps onto. */
export interface AppDeps {
  services: Services;
  /** Body limits (text and image models) and the JSON nesting bound. */
  config: Pick<Config, 'body_limit_mb' | 'image_body_limit_mb' | 'max_json_depth'>;
  /** The global in-flight cap, shared with the gRPC skin; absent: no cap. */
  inFlight?: InFlightLimit | undefined;
  /** fastify's logger option; default off (the daemon passes its pino options). */
  logger?: FastifyServerOptions['logger'];
  /** Serve Swagger UI at /docs; default true. */
  docs?: boolean;
  /** Where large generated images go (GET /artifacts/{id}); absent: images are always inline. */
  artifacts?: ArtifactDeps | undefined;
  /** Tokens, Host allow-list and CORS; absent: auth off, any Host, CORS off. */
  security?: RestSecurity | undefined;
  /** PEM certificate and key: serve HTTPS only. */
  tls?: { cert: Buffer; key: Buffer } | undefined;
}

/** What the route plugins see. */
export type RouteDeps = Pick<AppDeps, 'services' | 'config' | 'artifacts'>;

export const API_PREFIX = '/api/v1';

/**
 * Builds the REST app without listening. Routes (all under /api/v1):
 *   Registry   POST/GET /models, GET/PUT/DELETE /models/{id}, POST /models/{id}/download, GET/POST /models/lock
 *   Inference  POST /infer/{id}, GET /artifacts/{id} (large generated images)
 *   Inference  POST /infer/{id}, POST /infer/{id}/async
 *   Jobs       GET /jobs, GET/DELETE /jobs/{id}, GET /jobs/{id}/result
 *   Lifecycle  POST /models/{id}/load, POST /models/{id}/unload, GET /status
 *   Health     GET /health/live, /health/ready, /health/models
 *   Metrics    GET /metrics
 *   Docs       GET /api/v1/openapi.json, Swagger UI at /docs
 * /metrics and /health/* are also served at the root (hidden from OpenAPI), where Prometheus
 * and Kubernetes probes look by default. While the services drain, every request but probes
 * answers 503 SERVICE_UNAVAILABLE. Each route
 * declares its access level (config.access: public, metrics, inference or admin; access.ts).
 * The app is returned before ready(), so the daemon can register more plugins (jobs) first;
 * inject() and listen() make it ready.
 */
export async function buildApp(deps: AppDeps): Promise<FastifyInstance> {
  const mb = 1024 * 1024;
  const options: FastifyServerOptions = {
    logger: deps.logger ?? false,
    bodyLimit: Math.round(deps.config.body_limit_mb * mb),
    // trace_id: the caller's x-trace-id when it is a uuid (so a trace crosses services), else a new one.
    requestIdHeader: false,
    genReqId: (req) => {
      const given = req.headers['x-trace-id'];
      return isUuid(given) ? given.toLowerCase() : randomUUID();
    },
    schemaController: { compilersFactory: { buildValidator: validatorsWithoutBodyCoercion() } },
    ajv: {
      customOptions: {
        // One entry per offending field; bodies are bounded by bodyLimit, which bounds the work.
        allErrors: true,
        keywords: ['example'],
      },
    },
  };
  // With TLS the server is an https.Server; the routes do not care which.
  const app = (deps.tls ? Fastify({ ...(options as FastifyHttpsOptions<https.Server>), https: { cert: deps.tls.cert, key: deps.tls.key } }) : Fastify(options)) as unknown as FastifyInstance;

  const { services, inFlight } = deps;
  // Callback hooks (here and in access.ts): every request passes them, and an async hook costs
  // a promise and a turn of the microtask queue each.
  app.addHook('onRequest', (request, reply, done) => {
    reply.header('x-trace-id', request.id);
    if (services.status.draining && !isProbe(request.url)) {
      done(new ModelMoraError('SERVICE_UNAVAILABLE', 'ModelMora is shutting down'));
      return;
    }
    // Before the body is read: an overloaded daemon spends nothing on the request. The slot is
    // given back when the response closes, answered or abandoned by the client.
    if (inFlight && !isProbe(request.url)) {
      let leave: () => void;
      try {
        leave = inFlight.enter();
      } catch (err) {
        done(err as Error);
        return;
      }
      reply.raw.once('close', leave);
    }
    done();
  });
  installJsonBodyParser(app, deps.config.max_json_depth);

  installErrorHandlers(app);
  // Before any route: every route must declare its access level, and every request is checked.
  installAccessDeclarations(app);
  await installAccessChecks(app, deps.security);
  for (const schema of [...SHARED_SCHEMAS, ...JOB_SCHEMAS]) app.addSchema(schema);
  await installOpenApi(app, { version: services.status.version, docs: deps.docs ?? true });

  const routeDeps: RouteDeps = { services, config: deps.config, artifacts: deps.artifacts };
  await app.register(modelsPlugin, { prefix: API_PREFIX, deps: routeDeps });
  await app.register(inferPlugin, { prefix: API_PREFIX, deps: routeDeps });
  await app.register(artifactsPlugin, { prefix: API_PREFIX, deps: routeDeps });
  if (services.inference.jobsEnabled) await app.register(jobsPlugin, { prefix: API_PREFIX, deps: routeDeps });
  await app.register(lifecyclePlugin, { prefix: API_PREFIX, deps: routeDeps });
  await app.register(healthPlugin, { prefix: API_PREFIX, deps: routeDeps });
  await app.register(metricsPlugin, { prefix: API_PREFIX, deps: routeDeps });
  // Root aliases for probes and scrapers that expect the conventional paths.
  await app.register(healthPlugin, { prefix: '', deps: routeDeps, hidden: true });
  await app.register(metricsPlugin, { prefix: '', deps: routeDeps, hidden: true });
  // Not ready() yet: the daemon may still register more routes (jobs) under API_PREFIX.
  return app;
}

/** Health probes and scrapes answer even when the daemon is at its in-flight cap. */
function isProbe(url: string): boolean {
  const query = url.indexOf('?');
  const path = query < 0 ? url : url.slice(0, query);
  return path === '/metrics' || path === `${API_PREFIX}/metrics` || path.startsWith('/health/') || path.startsWith(`${API_PREFIX}/health/`);
}

