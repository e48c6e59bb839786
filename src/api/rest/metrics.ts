import type { FastifyPluginAsync } from 'fastify';
import type { Engine } from '../../domain/engine.js';
import type { Metrics } from '../../metrics/metrics.js';
import { PRIORITIES } from '../../domain/task-type.js';
import type { RouteDeps } from './app.js';

/**
 * GET /metrics in the Prometheus text format (API document §2.8). Mounted under /api/v1 and
 * again at the root (`hidden`), where Prometheus scrapes by default.
 */
export const metricsPlugin: FastifyPluginAsync<{ deps: RouteDeps; hidden?: boolean }> = async (app, { deps, hidden }) => {
  app.get(
    '/metrics',
    {
      config: { access: 'metrics' },
      schema: {
        tags: ['Metrics'],
        ...(hidden ? { hide: true } : { operationId: 'metrics' }),
        summary: 'Prometheus metrics',
        response: {
          200: {
            description: 'Prometheus text exposition format 0.0.4',
            content: { 'text/plain': { schema: { type: 'string' } } },
          },
        },
      },
    },
    async (_request, reply) => {
      sampleEngine(deps.metrics, deps.engine);
      const text = await deps.metrics.render();
      return reply.type(deps.metrics.contentType).send(text);
    },
  );
};

/**
 * Gauges that describe the engine's present state are read from it at scrape time, so they are
 * right even between the engine's own updates.
 */
export function sampleEngine(metrics: Metrics, engine: Engine): void {
  const depth = engine.queueDepth();
  for (const priority of PRIORITIES) metrics.queueDepth(priority, depth[`${priority}_priority`]);
  const loaded = engine.models().filter((m) => m.state === 'loaded');
  metrics.loadedModels(loaded.length);
  metrics.modelMemoryAll(new Map(loaded.map((m) => [m.model_id, Math.round(m.memory_usage_mb * 1024 * 1024)])));
}
