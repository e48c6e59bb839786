import { Transform } from 'node:stream';
import type { FastifyPluginAsync, FastifyRequest } from 'fastify';
import { Cancellation } from '../../domain/cancellation.js';
import { ModelMoraError, validationError } from '../../domain/errors.js';
import type { ModelRef } from '../../domain/model-ref.js';
import type { InferenceInput } from '../../services/inference-input.js';
import type { InferenceCall, InferenceService, ModelTarget } from '../../services/inference-service.js';
import type { RouteDeps } from './app.js';
import { placeImages } from './artifacts.js';
import { modelRefOf, modelRoute, type ModelRoute } from './model-path.js';
import { streamInference } from './infer-stream.js';
import { errorResponses } from './schemas.js';
import { inferenceResponseJson, toInferenceResponse } from './inference-response.js';

/** What fastify would have set for an object answer. */
const JSON_TYPE = 'application/json; charset=utf-8';

/** POST /infer/{model_id} (API document §2.4.1): validate, queue on the engine, answer. */
export const inferPlugin: FastifyPluginAsync<{ deps: RouteDeps }> = async (app, { deps }) => {
  const { inference } = deps.services;

  modelRoute(app, {
    method: 'POST',
    base: '/infer',
    access: 'inference',
    schema: {
      tags: ['Inference'],
      operationId: 'infer',
      summary: 'Execute synchronous inference',
      description:
        'Queues the input on the model (loading it if needed), batches it with other requests and waits for the result. ' +
        'A list of texts answers `embeddings` (or `texts`), a single text `embedding` (or `text`). Closing the connection cancels the request.',
      body: { $ref: 'InferenceRequest#' },
      response: {
        200: { description: 'Inference completed', $ref: 'InferenceResponse#' },
        ...errorResponses({
          400: 'VALIDATION_ERROR, INVALID_INPUT or INVALID_MODEL_ID',
          404: 'MODEL_NOT_FOUND',
          408: 'INFERENCE_TIMEOUT: the deadline passed (time in queue counts)',
          413: 'BATCH_SIZE_EXCEEDED or PAYLOAD_TOO_LARGE',
          429: 'RATE_LIMIT_EXCEEDED: the model queue is full (see Retry-After)',
          500: 'INFERENCE_FAILED or MODEL_LOAD_FAILED',
          503: 'UNHEALTHY_MODEL or SERVICE_UNAVAILABLE',
          507: 'INSUFFICIENT_MEMORY',
        }),
      },
    },
    options: inferenceBodyOptions(deps),
    handler: async (request, reply, ref) => {
      const target = inferenceTarget(request, inference, ref);
      const call = inferenceCall(request);
      const stream = wantsStream(request.body);
      // A client that goes away before its answer is dropped from the queue (or its run aborted).
      // ServerResponse 'close' before the end of the answer means the connection closed; the
      // request's own 'close' cannot tell, it fires as soon as the body has been read.
      const cancel = new Cancellation();
      const onClose = () => {
        if (!reply.raw.writableEnded) cancel.abort();
      };
      reply.raw.on('close', onClose);
      if (request.raw.socket?.destroyed) cancel.abort();
      try {
        if (stream) {
          // Validated before the stream opens, so a bad request still gets its plain JSON 4xx.
          const prepared = await inference.prepare(target, call);
          await streamInference(request, reply, prepared.request.batched, cancel, (onProgress) => inference.run(prepared, { signal: cancel, onProgress }), toInferenceResponse);
          return reply;
        }
        const result = await inference.infer(target, { ...call, signal: cancel });
        const images = await placeImages(result.outputs, deps.artifacts, request);
        // Serialized here, in one native pass, rather than by the route's response schema, which
        // costs about as much again per float; the fields are the schema's (toInferenceResponse).
        const body = inferenceResponseJson(result, images);
        reply.type(JSON_TYPE);
        return body;
      } finally {
        reply.raw.off('close', onClose);
      }
    },
  });
};

/** The request's body as the services' neutral input, named as the API document names its fields. */
export function inferenceCall(request: FastifyRequest): InferenceCall {
  return { input: () => documentInput(request.body), requestId: request.id };
}

/** The REST body is the API document's InferenceRequest; the services take its parts by name. */
export function documentInput(body: unknown): InferenceInput {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) throw validationError([{ field: 'body', message: 'must be a JSON object' }]);
  const { input_data, parameters, priority, timeout_seconds } = body as Record<string, unknown>;
  return { data: input_data, parameters, priority, timeoutSeconds: timeout_seconds };
}

/** Targets found in preParsing, so the registry is read once per request. */
const targets = new WeakMap<FastifyRequest, ModelTarget>();

/** The model of an inference route's request, found once (in preParsing, to pick the body limit). */
export function inferenceTarget(request: FastifyRequest, inference: InferenceService, ref: ModelRef): ModelTarget {
  const known = targets.get(request);
  if (known) return known;
  const target = inference.target(ref);
  targets.set(request, target);
  return target;
}

/** `stream`: absent or a boolean; anything else is a VALIDATION_ERROR before any work. */
function wantsStream(body: unknown): boolean {
  const value = (body as { stream?: unknown }).stream;
  if (value === undefined) return false;
  if (typeof value !== 'boolean') throw validationError([{ field: 'stream', message: 'must be true or false' }]);
  return value;
}

/** Body limits of inference routes (sync and async): image-sized for image models, body_limit_mb otherwise. */
export function inferenceBodyOptions(deps: RouteDeps): NonNullable<ModelRoute['options']> {
  const mb = 1024 * 1024;
  const textLimit = Math.round(deps.config.body_limit_mb * mb);
  const imageLimit = Math.max(textLimit, Math.round(deps.config.image_body_limit_mb * mb));
  return {
    // The route takes image-sized bodies; preParsing narrows that to body_limit_mb for text models.
    bodyLimit: imageLimit,
    // InferenceService's validator is the one every skin shares; the schema documents it.
    validatorCompiler: () => () => true,
    preParsing: async (request, _reply, payload) => {
      const limit = inferenceTarget(request, deps.services.inference, modelRefOf(request)).takesImages ? imageLimit : textLimit;
      const length = request.headers['content-length'];
      if (length !== undefined && request.headers['transfer-encoding'] === undefined) {
        // Node's parser reads exactly Content-Length bytes (and fastify checks the count), so
        // a body that declares its size is bounded by this check alone.
        if (Number(length) > limit) throw tooLarge(limit);
        return payload;
      }
      return limitStream(payload, limit);
    },
  };
}

function tooLarge(limit: number): ModelMoraError {
  return new ModelMoraError('PAYLOAD_TOO_LARGE', `Request body is larger than ${Math.round((limit / (1024 * 1024)) * 100) / 100} MB`);
}

/** Counts bytes of a body without Content-Length (chunked) and stops at the limit. */
function limitStream(payload: NodeJS.ReadableStream, limit: number): NodeJS.ReadableStream {
  let seen = 0;
  const counter = new Transform({
    transform(chunk: Buffer, _encoding, callback) {
      seen += chunk.length;
      if (seen > limit) callback(tooLarge(limit));
      else callback(null, chunk);
    },
  });
  payload.on('error', (err) => counter.destroy(err));
  return payload.pipe(counter);
}
