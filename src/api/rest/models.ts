import type { FastifyPluginAsync } from 'fastify';
import { ModelRef } from '../../domain/model-ref.js';
import { toModelResponse, type ListQuery, type RegisterInput, type UpdateInput } from '../../store/registry.js';
import type { RouteDeps } from './app.js';
import { modelRoute } from './model-path.js';
import { DeleteModelQuery, ListModelsQuery, errorResponses } from './schemas.js';

/** Registry routes (API document §2.3): the catalog, downloads and the lock file. */
export const modelsPlugin: FastifyPluginAsync<{ deps: RouteDeps }> = async (app, { deps }) => {
  const { models } = deps.services;
  const tags = ['Registry'];

  app.post(
    '/models',
    {
      config: { access: 'admin' },
      schema: {
        tags,
        operationId: 'registerModel',
        summary: 'Register a new model',
        description: 'Registers a model in the catalog. Files are not downloaded yet: use /download, or the first inference loads it.',
        body: { $ref: 'RegisterModelRequest#' },
        response: {
          201: { description: 'Model registered', $ref: 'ModelResponse#' },
          ...errorResponses({ 400: 'Invalid request (VALIDATION_ERROR, INVALID_MODEL_ID, URL_NOT_ALLOWED)', 409: 'MODEL_ALREADY_EXISTS' }),
        },
      },
    },
    async (request, reply) => {
      const { model_id, ...input } = request.body as RegisterInput;
      const record = await models.register(ModelRef.parse(model_id), input);
      reply.header('location', `${request.url.split('?')[0]}/${encodeURIComponent(record.model_id)}`);
      return reply.code(201).send(toModelResponse(record));
    },
  );

  app.get(
    '/models',
    {
      config: { access: 'inference' },
      schema: {
        tags,
        operationId: 'listModels',
        summary: 'List registered models',
        querystring: ListModelsQuery,
        response: { 200: { description: 'One page of models, sorted by model_id', $ref: 'ModelList#' }, ...errorResponses({ 400: 'VALIDATION_ERROR' }) },
      },
    },
    async (request) => {
      const page = await models.list(request.query as ListQuery);
      return { data: page.data.map(toModelResponse), meta: page.meta };
    },
  );

  // Registered before /models/:model_id; static segments win, so a bare model named 'lock'
  // is reached as GET /models/lock only through this route (use its org/ form).
  const lockSchema = (operationId: string) => ({
    tags,
    operationId,
    summary: 'Generate lock file',
    description: 'Pinned commit and checksum of every served model (the modelmora.lock content).',
    response: { 200: { description: 'Lock file content', $ref: 'LockFile#' } },
  });
  app.post('/models/lock', { config: { access: 'admin' }, schema: lockSchema('generateLock') }, async () => models.lock());
  app.get('/models/lock', { config: { access: 'inference' }, schema: lockSchema('getLock') }, async () => models.lock());

  modelRoute(app, {
    method: 'GET',
    base: '/models',
    access: 'inference',
    schema: {
      tags,
      operationId: 'getModel',
      summary: 'Get model details',
      response: { 200: { description: 'Model details', $ref: 'ModelResponse#' }, ...errorResponses({ 400: 'INVALID_MODEL_ID', 404: 'MODEL_NOT_FOUND' }) },
    },
    handler: async (_request, _reply, ref) => toModelResponse(await models.get(ref)),
  });

  modelRoute(app, {
    method: 'PUT',
    base: '/models',
    access: 'admin',
    schema: {
      tags,
      operationId: 'updateModel',
      summary: 'Update model configuration',
      body: { $ref: 'UpdateModelRequest#' },
      response: {
        200: { description: 'Model updated', $ref: 'ModelResponse#' },
        ...errorResponses({ 400: 'VALIDATION_ERROR or INVALID_MODEL_ID', 404: 'MODEL_NOT_FOUND' }),
      },
    },
    handler: async (request, _reply, ref) => toModelResponse(await models.update(ref, request.body as UpdateInput)),
  });

  modelRoute(app, {
    method: 'DELETE',
    base: '/models',
    access: 'admin',
    schema: {
      tags,
      operationId: 'deleteModel',
      summary: 'Delete model',
      description: 'Removes the model from the registry and deletes its cached files. A loaded or downloading model needs force=true.',
      querystring: DeleteModelQuery,
      response: {
        204: { description: 'Model deleted', type: 'null' },
        ...errorResponses({ 400: 'INVALID_MODEL_ID', 404: 'MODEL_NOT_FOUND', 409: 'MODEL_IN_USE: loaded or downloading (use force=true)' }),
      },
    },
    handler: async (request, reply, ref) => {
      const { force } = request.query as { force: boolean };
      await models.remove(ref, force);
      return reply.code(204).send();
    },
  });

  modelRoute(app, {
    method: 'POST',
    base: '/models',
    suffix: '/download',
    access: 'admin',
    schema: {
      tags,
      operationId: 'downloadModel',
      summary: 'Download model files',
      description: 'Starts fetching the files into the cache and answers at once; GET /models/{model_id} shows status downloading, then ready or failed.',
      response: { 202: { description: 'Download started (or already running)', $ref: 'DownloadResponse#' }, ...errorResponses({ 400: 'INVALID_MODEL_ID', 404: 'MODEL_NOT_FOUND' }) },
    },
    handler: async (_request, reply, ref) => reply.code(202).send(await models.download(ref)),
  });
};
