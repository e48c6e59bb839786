import type { FastifyPluginAsync } from 'fastify';
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
      const { contentType, text } = await deps.services.status.metrics();
      return reply.type(contentType).send(text);
    },
  );
};
