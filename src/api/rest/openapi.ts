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
        description:
          'ModelMora is a lightweight model serving framework for managing and executing machine learning model inference at scale.\n\n' +
          '## Features\n- Model registry with version management\n- Lazy model loading with LRU eviction\n- Synchronous and asynchronous inference\n' +
          `- Priority-based request queuing\n- Batch processing for improved throughput\n\nTask types: ${TASK_TYPES.join(', ')}.`,
        contact: { name: 'MiraVeja Team', email: 'support@miraveja.com' },
        license: { name: 'MIT', url: 'https://opensource.org/licenses/MIT' },
      },
      // This server first (relative, so Swagger UI calls the daemon it came from), then the document's.
      servers: [
        { url: '/api/v1', description: 'This server' },
        { url: 'http://localhost:8000/api/v1', description: 'Local development server' },
        { url: 'https://modelmora.miraveja.com/api/v1', description: 'Production server' },
      ],
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
    transformObject: (object) => ('openapiObject' in object ? (conformToDocument(object.openapiObject as OpenApiDocument) as typeof object.openapiObject) : object.swaggerObject),
    // Shared schemas keep their $id as component name (ModelResponse, Error...), not def-N.
    refResolver: {
      buildLocalReference: (json, _baseUri, _fragment, i) => (typeof json.$id === 'string' ? json.$id : `def-${i}`),
    },
  });
  if (options.docs) await app.register(swaggerUi, { routePrefix: '/docs' });
  app.get('/api/v1/openapi.json', { config: { access: 'public' }, schema: { hide: true } }, async () => app.swagger());
}

/** The API document's operations (§2); every other route is marked `x-modelmora-extension`. */
const DOCUMENT_OPERATIONS: ReadonlySet<string> = new Set([
  'post /models',
  'get /models',
  'get /models/{model_id}',
  'put /models/{model_id}',
  'delete /models/{model_id}',
  'post /models/{model_id}/download',
  'post /models/lock',
  'post /infer/{model_id}',
  'post /infer/{model_id}/async',
  'get /jobs/{job_id}',
  'get /jobs/{job_id}/result',
  'delete /jobs/{job_id}',
  'post /models/{model_id}/load',
  'post /models/{model_id}/unload',
  'get /status',
  'get /health/live',
  'get /health/ready',
  'get /health/models',
  'get /metrics',
]);

/** The document's named request examples, by operationId. */
const REQUEST_EXAMPLES: Record<string, Record<string, { summary: string; value: unknown }>> = {
  registerModel: {
    embedding_model: {
      summary: 'Text embedding model',
      value: {
        model_id: 'sentence-transformers/all-MiniLM-L6-v2',
        version: 'v2.2.2',
        task_type: 'txt2embed',
        display_name: 'MiniLM-L6 Sentence Embeddings',
        config: { vector_size: 384, max_length: 512, batch_size: 32 },
      },
    },
    image_gen_model: {
      summary: 'Text-to-image model',
      value: { model_id: 'stabilityai/stable-diffusion-2-1', version: 'fp16', task_type: 'txt2img', resource_requirements: { memory_mb: 4096, gpu_vram_mb: 6144 } },
    },
  },
  infer: {
    text_embedding: { summary: 'Text embedding request', value: { input_data: { text: 'This is a sample sentence to embed' }, parameters: { normalize: true } } },
    text_generation: {
      summary: 'Text generation request',
      value: { input_data: { text: 'Once upon a time' }, parameters: { max_tokens: 100, temperature: 0.7 }, priority: 'medium' },
    },
    image_generation: {
      summary: 'Image generation (should use async)',
      value: { input_data: { text: 'A beautiful sunset over mountains' }, parameters: { width: 512, height: 512, steps: 50 }, priority: 'low', timeout_seconds: 300 },
    },
  },
};

interface OpenApiOperation {
  operationId?: string;
  security?: unknown[];
  responses?: Record<string, unknown>;
  requestBody?: { content?: Record<string, { examples?: unknown }> };
  'x-modelmora-extension'?: boolean;
}

interface OpenApiDocument {
  paths?: Record<string, Record<string, OpenApiOperation>>;
}

const errorAnswer = (description: string) => ({ description, content: { 'application/json': { schema: { $ref: '#/components/schemas/Error' } } } });

/**
 * What the route schemas cannot say on their own: 401 and 403 on every operation the global
 * BearerAuth covers, the document's named examples, and which operations are ModelMora's own.
 */
function conformToDocument(doc: OpenApiDocument): OpenApiDocument {
  for (const [path, methods] of Object.entries(doc.paths ?? {})) {
    for (const [method, op] of Object.entries(methods)) {
      const open = Array.isArray(op.security) && op.security.length === 0;
      if (!open && op.responses) {
        op.responses['401'] ??= errorAnswer('UNAUTHORIZED: no token, or one that is invalid or expired');
        op.responses['403'] ??= errorAnswer('FORBIDDEN: the token lacks the scope this operation needs');
      }
      const examples = op.operationId !== undefined ? REQUEST_EXAMPLES[op.operationId] : undefined;
      const json = op.requestBody?.content?.['application/json'];
      if (examples && json) json.examples = examples;
      if (!DOCUMENT_OPERATIONS.has(`${method} ${path}`)) op['x-modelmora-extension'] = true;
    }
  }
  return doc;
}
