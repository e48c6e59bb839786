import type { FastifyPluginAsync } from 'fastify';
import type { ModelStatus } from '../../domain/engine.js';
import type { RouteDeps } from './app.js';
import { modelRoute } from './model-path.js';
import { errorResponses } from './schemas.js';

/** Lifecycle routes (API document §2.6): load, unload, system status. */
export const lifecyclePlugin: FastifyPluginAsync<{ deps: RouteDeps }> = async (app, { deps }) => {
  const { registry, engine } = deps;
  const tags = ['Lifecycle'];

  modelRoute(app, {
    method: 'POST',
    base: '/models',
    suffix: '/load',
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
    handler: async (_request, _reply, id) => {
      await registry.get(id);
      return engine.load(id);
    },
  });

  modelRoute(app, {
    method: 'POST',
    base: '/models',
    suffix: '/unload',
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
    handler: async (_request, _reply, id) => {
      await registry.get(id);
      await engine.unload(id);
      const still = engine.models().find((m) => m.model_id === id);
      return still ?? { model_id: id, state: 'unloaded', memory_usage_mb: 0 };
    },
  });

  app.get(
    '/status',
    {
      schema: {
        tags,
        operationId: 'getStatus',
        summary: 'Get system status',
        response: { 200: { description: 'System status', $ref: 'SystemStatus#' } },
      },
    },
    async () => {
      const system = deps.systemMemory();
      const { used_mb, budget_mb } = engine.memory();
      const models: ModelStatus[] = engine.models();
      return {
        version: deps.version,
        uptime_seconds: Math.max(0, Math.floor((deps.now().getTime() - deps.startedAt.getTime()) / 1000)),
        memory: {
          total_mb: round(system.total_mb),
          used_mb: round(used_mb),
          // What a new model may still take: the budget left, and never more than the machine has free.
          available_mb: round(Math.max(0, Math.min(budget_mb - used_mb, system.free_mb))),
          threshold_mb: round(budget_mb),
        },
        gpu: { available: false, devices: [] },
        loaded_models: models,
        queue_depth: engine.queueDepth(),
      };
    },
  );
};

function round(mb: number): number {
  return Math.round(mb * 10) / 10;
}
