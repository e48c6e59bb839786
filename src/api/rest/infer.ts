import { performance } from 'node:perf_hooks';
import { Transform } from 'node:stream';
import type { FastifyPluginAsync } from 'fastify';
import { Cancellation } from '../../domain/cancellation.js';
import { ModelMoraError, validationError } from '../../domain/errors.js';
import type { InferenceResult, ItemOutput } from '../../domain/inference.js';
import type { TaskType } from '../../domain/task-type.js';
import { requestStatusOf } from '../../metrics/metrics.js';
import { readInferenceRequest } from '../../services/inference-input.js';
import type { RouteDeps } from './app.js';
import { placeImages, type ImageRef } from './artifacts.js';
import { modelIdOf, modelRoute, type ModelRoute } from './model-path.js';
import { streamInference } from './infer-stream.js';
import { errorResponses } from './schemas.js';
import { float32ArrayJson, float32Numbers } from './float32-json.js';

const IMAGE_INPUT_TASKS: readonly TaskType[] = ['img2embed', 'img2txt'];
/** What fastify would have set for an object answer. */
const JSON_TYPE = 'application/json; charset=utf-8';

/** POST /infer/{model_id} (API document §2.4.1): validate, queue on the engine, answer. */
export const inferPlugin: FastifyPluginAsync<{ deps: RouteDeps }> = async (app, { deps }) => {
  const { registry, engine, metrics, config } = deps;

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
    handler: async (request, reply, id) => {
      const record = registry.view(id);
      const started = performance.now();
      const seconds = () => (performance.now() - started) / 1000;
      let input;
      let stream: boolean;
      try {
        input = await readInferenceRequest(id, request.body, config, { taskType: record.task_type, modelConfig: record.config, requestId: request.id });
        stream = wantsStream(request.body);
      } catch (err) {
        metrics.requestDone(id, requestStatusOf(err), seconds());
        throw err;
      }
      // A client that goes away before its answer is dropped from the queue (or its run aborted).
      // ServerResponse 'close' before the end of the answer means the connection closed; the
      // request's own 'close' cannot tell, it fires as soon as the body has been read.
      const cancel = new Cancellation();
      const onClose = () => {
        if (!reply.raw.writableEnded) cancel.abort();
      };
      reply.raw.on('close', onClose);
      if (request.raw.socket?.destroyed) cancel.abort();
      if (stream) {
        const outcome = await streamInference(request, reply, input.batched, cancel,
          (onProgress) => engine.infer(input, { signal: cancel, onProgress }), toInferenceResponse);
        reply.raw.off('close', onClose);
        const status = outcome.ok ? 'success' : cancel.aborted ? 'cancelled' : requestStatusOf(outcome.error);
        metrics.requestDone(id, status, seconds());
        return reply;
      }
      try {
        const result = await engine.infer(input, { signal: cancel });
        const images = await placeImages(result.outputs, deps.artifacts, request);
        // Serialized here, in one native pass, rather than by the route's response schema, which
        // costs about as much again per float; the fields are the schema's (toInferenceResponse).
        const body = inferenceResponseJson(result, images);
        metrics.requestDone(id, 'success', seconds());
        reply.type(JSON_TYPE);
        return body;
      } catch (err) {
        metrics.requestDone(id, cancel.aborted ? 'cancelled' : requestStatusOf(err), seconds());
        throw err;
      } finally {
        reply.raw.off('close', onClose);
      }
    },
  });
};

/** `stream`: absent or a boolean; anything else is a VALIDATION_ERROR before any work. */
function wantsStream(body: unknown): boolean {
  const value = (body as { stream?: unknown }).stream;
  if (value === undefined) return false;
  if (typeof value !== 'boolean') throw validationError([{ field: 'stream', message: 'must be true or false' }]);
  return value;
}

/** Body limits of inference routes (sync and async): image-sized for image models, body_limit_mb otherwise. */
export function inferenceBodyOptions(deps: Pick<RouteDeps, 'registry' | 'config'>): NonNullable<ModelRoute['options']> {
  const mb = 1024 * 1024;
  const textLimit = Math.round(deps.config.body_limit_mb * mb);
  const imageLimit = Math.max(textLimit, Math.round(deps.config.image_body_limit_mb * mb));
  return {
    // The route takes image-sized bodies; preParsing narrows that to body_limit_mb for text models.
    bodyLimit: imageLimit,
    // toInferenceRequest is the one validator (shared with gRPC); the schema documents it.
    validatorCompiler: () => () => true,
    preParsing: async (request, _reply, payload) => {
      const record = deps.registry.view(modelIdOf(request));
      const limit = IMAGE_INPUT_TASKS.includes(record.task_type) ? imageLimit : textLimit;
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

/**
 * The document's InferenceResponse: output_data keyed by what the outputs are. `images` says how
 * each image goes back (placeImages); without it images are inline base64.
 */
export function toInferenceResponse(result: InferenceResult, images?: readonly ImageRef[]): {
  model_id: string;
  output_data: Record<string, unknown>;
  metadata: InferenceResult['metadata'];
} {
  const output: Record<string, unknown> = {};
  const of = <K extends ItemOutput['kind']>(kind: K) => result.outputs.filter((o): o is Extract<ItemOutput, { kind: K }> => o.kind === kind);
  const embeddings = of('embedding').map((o) => float32Numbers(o.embedding));
  const texts = of('text').map((o) => o.text);
  const refs = images ?? of('image').map((o): ImageRef => ({ image_base64: Buffer.from(o.png).toString('base64') }));
  if (embeddings.length > 0) {
    if (result.batched) output['embeddings'] = embeddings;
    else output['embedding'] = embeddings[0];
  }
  if (texts.length > 0) {
    if (result.batched) output['texts'] = texts;
    else output['text'] = texts[0];
  }
  if (refs.length > 0) {
    if (!result.batched) Object.assign(output, refs[0]);
    else if (refs.every((r) => 'image_base64' in r)) output['images_base64'] = refs.map((r) => r.image_base64);
    else output['image_urls'] = refs.map((r) => ('image_url' in r ? r.image_url : undefined));
  }
  return { model_id: result.modelId, output_data: output, metadata: result.metadata };
}

/**
 * JSON.stringify(toInferenceResponse(result, images)), the same text, with float32 embeddings
 * written by float32ArrayJson instead of going through an array of numbers.
 */
export function inferenceResponseJson(result: InferenceResult, images?: readonly ImageRef[]): string {
  const vectors: Float32Array[] = [];
  for (const output of result.outputs) {
    if (output.kind !== 'embedding') continue;
    if (!(output.embedding instanceof Float32Array)) return JSON.stringify(toInferenceResponse(result, images));
    vectors.push(output.embedding);
  }
  if (vectors.length === 0) return JSON.stringify(toInferenceResponse(result, images));
  const embeddings = result.batched ? `"embeddings":[${vectors.map(float32ArrayJson).join(',')}]` : `"embedding":${float32ArrayJson(vectors[0]!)}`;
  // The other outputs (texts, images) as toInferenceResponse writes them; embeddings come first there.
  const others =
    vectors.length === result.outputs.length
      ? '{}'
      : JSON.stringify(toInferenceResponse({ ...result, outputs: result.outputs.filter((o) => o.kind !== 'embedding') }, images).output_data);
  const output = others === '{}' ? `{${embeddings}}` : `{${embeddings},${others.slice(1)}`;
  return `{"model_id":${JSON.stringify(result.modelId)},"output_data":${output},"metadata":${JSON.stringify(result.metadata)}}`;
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
