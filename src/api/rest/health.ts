import type { FastifyPluginAsync } from 'fastify';
import type { RouteDeps } from './app.js';
import { Liveness, ModelHealth, Readiness } from './schemas.js';

/**
 * Health probes (API document §2.7). Mounted under /api/v1 and again at the root (`hidden`),
 * where Kubernetes probes are usually pointed.
 */
export const healthPlugin: FastifyPluginAsync<{ deps: RouteDeps; hidden?: boolean }> = async (app, { deps, hidden }) => {
  const base = { tags: ['Health'], ...(hidden && { hide: true }) };

  // Answering at all proves the event loop turns; nothing else is checked on purpose.
  app.get(
    '/health/live',
    { config: { access: 'public' }, schema: { ...base, operationId: hidden ? undefined : 'liveness', summary: 'Liveness probe', response: { 200: { description: 'Alive', ...Liveness } } } },
    async () => ({ status: 'ok' }),
  );

  app.get(
    '/health/ready',
    {
      config: { access: 'public' },
      schema: {
        ...base,
        operationId: hidden ? undefined : 'readiness',
        summary: 'Readiness probe',
        description: '503 while starting, draining on shutdown, or when the registry or the queue is not usable.',
        response: { 200: { description: 'Ready', ...Readiness }, 503: { description: 'Not ready', ...Readiness } },
      },
    },
    async (_request, reply) => {
      const { ready, checks } = deps.services.status.readiness();
      return reply.code(ready ? 200 : 503).send({ status: ready ? 'ready' : 'not_ready', checks });
    },
  );

  app.get(
    '/health/models',
    {
      config: { access: 'public' },
      schema: {
        ...base,
        operationId: hidden ? undefined : 'modelHealth',
        summary: 'Model health status',
        description: 'Health of every model the engine holds (loaded, loading or unhealthy).',
        response: { 200: { description: 'Model health', ...ModelHealth } },
      },
    },
    async () => {
      const health = deps.services.status.modelHealth();
      const models = health.models.map((m) => ({
        model_id: m.model_id,
        healthy: m.health_status.healthy,
        last_check_at: m.health_status.last_check_at,
        ...(m.health_status.error_message !== undefined && { error: m.health_status.error_message }),
      }));
      return { healthy_count: health.healthy_count, unhealthy_count: health.unhealthy_count, models };
    },
  );
};
