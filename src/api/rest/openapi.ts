import swagger from '@fastify/swagger';
import swaggerUi from '@fastify/swagger-ui';
import type { FastifyInstance } from 'fastify';
import { TASK_TYPES } from '../../domain/task-type.js';

/**
 * The OpenAPI 3.0 document, generated from the same route schemas fastify validates with, at
 * GET /api/v1/openapi.json, and Swagger UI at /docs. Paths are written relative to the server
 * `/api/v1`, as in the API document.
 */
export async function installOpenApi(app: FastifyInstance, options: { version: string; docs: boolean }): Promise<void> {
  await app.register(swagger, {
    openapi: {
      openapi: '3.0.3',
      info: {
        title: 'ModelMora API',
        version: options.version,
        description: `ModelMora serves machine learning models: a registry with a lock file, lazy loading under a memory budget, priority queues and dynamic batching. Task types: ${TASK_TYPES.join(', ')}.`,
        license: { name: 'MIT', url: 'https://opensource.org/licenses/MIT' },
      },
      servers: [{ url: '/api/v1', description: 'This server' }],
      tags: [
        { name: 'Registry', description: 'Model catalog management' },
        { name: 'Inference', description: 'Model inference operations' },
        { name: 'Jobs', description: 'Asynchronous job management' },
        { name: 'Lifecycle', description: 'Model lifecycle management' },
        { name: 'Health', description: 'Health check endpoints' },
        { name: 'Metrics', description: 'Observability and metrics' },
      ],
      components: {
        securitySchemes: {
          BearerAuth: { type: 'http', scheme: 'bearer', bearerFormat: 'JWT', description: 'API token (admin or inference scope)' },
        },
      },
      // As in the API document: a Bearer token everywhere, except where a route is open (below).
      security: [{ BearerAuth: [] }],
    },
    // Open routes (probes, metrics unless metrics_auth) say so, so Swagger UI sends no token there.
    transform: ({ schema, url, route }) => {
      const access = (route as { config?: { access?: string } }).config?.access;
      return { schema: access === 'public' || access === 'metrics' ? { ...schema, security: [] } : schema, url };
    },
    // Shared schemas keep their $id as component name (ModelResponse, Error...), not def-N.
    refResolver: {
      buildLocalReference: (json, _baseUri, _fragment, i) => (typeof json.$id === 'string' ? json.$id : `def-${i}`),
    },
  });
  if (options.docs) await app.register(swaggerUi, { routePrefix: '/docs' });
  app.get('/api/v1/openapi.json', { config: { access: 'public' }, schema: { hide: true } }, async () => app.swagger());
}
