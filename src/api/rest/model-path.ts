import type { FastifyInstance, FastifyReply, FastifyRequest, FastifySchema, HTTPMethods, RouteShorthandOptions } from 'fastify';
import type { AccessLevel } from '../../auth/principal.js';
import { ModelRef } from '../../domain/model-ref.js';
import { ModelIdParams, RawModelIdParams } from './schemas.js';

/**
 * Routes with a model id in the path, registered in both shapes the design promises: the
 * URL-encoded `/models/org%2Fname` (documented) and the raw `/models/org/name` (hidden from
 * OpenAPI, since it is the same operation). Either way the id goes through ModelRef.parse, once, so a
 * bad id is 400 INVALID_MODEL_ID before any handler runs, and handlers get the ModelRef.
 *
 * Caveat of the raw shape: a raw id whose name equals a static suffix (`org/load`) routes to the
 * suffix route; such models are reached with the encoded form.
 */

export type ModelHandler = (request: FastifyRequest, reply: FastifyReply, model: ModelRef) => Promise<unknown>;

export interface ModelRoute {
  method: HTTPMethods;
  /** '/models' or '/infer'. */
  base: string;
  /** '' or '/load', '/download'... */
  suffix?: string;
  /** Who may call it (both shapes). */
  access: AccessLevel;
  schema: Omit<FastifySchema, 'params'>;
  handler: ModelHandler;
  options?: Pick<RouteShorthandOptions, 'bodyLimit' | 'preParsing' | 'validatorCompiler'>;
}

export function modelRoute(app: FastifyInstance, route: ModelRoute): void {
  const suffix = route.suffix ?? '';
  const shapes = [
    { url: `${route.base}/:model_id${suffix}`, params: ModelIdParams, hide: false },
    { url: `${route.base}/:org/:name${suffix}`, params: RawModelIdParams, hide: true },
  ];
  for (const shape of shapes) {
    app.route({
      method: route.method,
      url: shape.url,
      ...route.options,
      config: { access: route.access },
      schema: { ...route.schema, params: shape.params, ...(shape.hide && { hide: true }) },
      handler: (request, reply) => route.handler(request, reply, modelRefOf(request)),
    });
  }
}

/** Refs already parsed, so a hook before the handler (preParsing) and the handler share one parse. */
const parsed = new WeakMap<FastifyRequest, ModelRef>();

/** The model of a request on a modelRoute (encoded or raw shape), parsed once per request. */
export function modelRefOf(request: FastifyRequest): ModelRef {
  const known = parsed.get(request);
  if (known) return known;
  const params = request.params as { model_id?: string; org?: string; name?: string };
  const ref = ModelRef.parse(params.model_id ?? `${params.org ?? ''}/${params.name ?? ''}`);
  parsed.set(request, ref);
  return ref;
}
