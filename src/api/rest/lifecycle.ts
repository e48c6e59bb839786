import type { FastifyPluginAsync } from 'fastify';
import type { RouteDeps } from './app.js';
import { modelRoute } from './model-path.js';
import { errorResponses } from './schemas.js';

/** Lifecycle routes (API document §2.6): load, unload, system status. */
export const lifecyclePlugin: FastifyPluginAsync<{ deps: RouteDeps }> = async (app, { deps }) => {
  const tags = ['Lifecycle'];

  modelRoute(app, {
    method: 'POST',
    base: '/models',
    suffix: '/load',
    access: 'admin',
    schema: {
      tags,
      operationId: 'loadModel',
      summary: 'Force load model',
      description: 'Loads the model into memory now (warm-up), evicting idle models if the memory budget needs it.',
      response: {
        200: { description: 'Model loaded', $ref: 'ModelStatusResponse#' },
        ...errorResponses({ 400: 'INVALID_MODEL_ID', 404: 'MODEL_NOT_FOUND', 500: 'MODEL_LOAD_FAILED', 507: 'INSUFFICIENT_MEMORY' }),
      },
    },
    handler: async (_request, _reply, ref) => deps.services.models.load(ref),
  });

  modelRoute(app, {
    method: 'POST',
    base: '/models',
    suffix: '/unload',
    access: 'admin',
    schema: {
      tags,
      operationId: 'unloadModel',
      summary: 'Unload model from memory',
      description: 'Unloads now if idle; with requests in flight it unloads as soon as they finish (state stays loaded until then).',
      response: {
        200: { description: 'Model unloaded (or unloading)', $ref: 'ModelStatusResponse#' },
        ...errorResponses({ 400: 'INVALID_MODEL_ID', 404: 'MODEL_NOT_FOUND or MODEL_NOT_LOADED' }),
      },
    },
    handler: async (_request, _reply, ref) => deps.services.models.unload(ref),
  });

  app.get(
    '/status',
    {
      config: { access: 'inference' },
      schema: {
        tags,
        operationId: 'getStatus',
        summary: 'Get system status',
        response: { 200: { description: 'System status', $ref: 'SystemStatus#' } },
      },
    },
    async () => deps.services.status.system(),
  );
};

