import { performance } from 'node:perf_hooks';
import type { UntypedServiceImplementation } from '@grpc/grpc-js';
import { jobAccessOf, jobOwnerOf } from '../../auth/principal.js';
import { ModelMoraError } from '../../domain/errors.js';
import type { InferOptions } from '../../domain/engine.js';
import type { InferenceRequest, InferenceResult } from '../../domain/inference.js';
import type { JobService } from '../../domain/jobs.js';
import { ModelRef } from '../../domain/model-ref.js';
import { requestStatusOf } from '../../metrics/metrics.js';
import { readInferenceRequest, type InferenceBody } from '../../services/inference-input.js';
import { unary, type CallContext, type UnaryOptions } from './call.js';
import { checkDecoded, checkMessageSize, MIB } from './message-size.js';
import { inferStream } from './inference-stream.js';
import { toInferenceResponse, toJobStatus, type InferenceRequestMessage } from './messages.js';
import type { GrpcDeps } from './server.js';
import { enumName, fromStruct, priorityOf, toTimestamp } from './wire.js';

/** modelmora.v1.InferenceService: Infer, InferStream, InferAsync and the job RPCs. */
export function inferenceService(deps: GrpcDeps, options: UnaryOptions, openStreams: Set<() => void>): UntypedServiceImplementation {
  const now = deps.now ?? (() => new Date());
  const jobs = (): JobService => {
    if (!deps.jobs) throw new ModelMoraError('SERVICE_UNAVAILABLE', 'Async jobs are not enabled on this server');
    return deps.jobs;
  };
  return {
    Infer: unary(options, async (request: InferenceRequestMessage, ctx) => {
      const result = await runInference(deps, request, ctx);
      return toInferenceResponse(result, now());
    }),
    InferStream: inferStream(deps, options, openStreams),
    InferAsync: unary(options, async (request: InferenceRequestMessage, ctx) => {
      // The job outlives this call, so the call's deadline does not bound it; timeout_seconds does.
      const { input } = await validate(deps, request, ctx.traceId);
      const job = await jobs().submit(input, { owner: jobOwnerOf(ctx.principal) });
      return { job_id: job.job_id, status: enumName('JOB_STATUS', job.status), created_at: toTimestamp(job.created_at) };
    }),
    // An inference caller reaches only the jobs it submitted; others' answer JOB_NOT_FOUND.
    GetJobStatus: unary(options, async (request: { job_id: string }, ctx) => toJobStatus(await jobs().get(jobIdOf(request.job_id), jobAccessOf(ctx.principal)))),
    GetJobResult: unary(options, async (request: { job_id: string }, ctx) =>
      toInferenceResponse(await jobs().result(jobIdOf(request.job_id), jobAccessOf(ctx.principal)), now()),
    ),
    CancelJob: unary(options, async (request: { job_id: string }, ctx) => {
      const job = await jobs().cancel(jobIdOf(request.job_id), jobAccessOf(ctx.principal));
      return { job_id: job.job_id, status: enumName('JOB_STATUS', job.status) };
    }),
  };
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** Job ids are uuids, as REST's /jobs/{job_id} requires. */
function jobIdOf(value: string): string {
  if (!UUID.test(value)) {
    throw new ModelMoraError('VALIDATION_ERROR', 'Request validation failed', {
      fieldErrors: [{ field: 'job_id', message: value === '' ? 'is required' : 'must be a uuid' }],
    });
  }
  return value;
}

/**
 * One inference as Infer and every InferStream message run it: parse the id, find the model,
 * validate with the validator REST uses, bound the deadline by the call's, run it on the engine
 * (aborted if the call is cancelled) and count it in modelmora_requests_total as REST does.
 */
export async function runInference(deps: GrpcDeps, message: InferenceRequestMessage, ctx: CallContext, onProgress?: InferOptions['onProgress']): Promise<InferenceResult> {
  const started = performance.now();
  const seconds = () => (performance.now() - started) / 1000;
  let input: InferenceRequest;
  let id: string;
  try {
    ({ id, input } = await validate(deps, message, ctx.traceId));
  } catch (err) {
    // Only known models get a series: an unknown id must not grow the label set.
    if (err instanceof ModelMoraError && err.code !== 'MODEL_NOT_FOUND' && err.code !== 'INVALID_MODEL_ID' && ModelRef.isValid(message.model_id)) {
      deps.metrics.requestDone(ModelRef.parse(message.model_id).id, requestStatusOf(err), seconds());
    }
    throw err;
  }
  try {
    input.timeoutSeconds = boundedTimeout(input.timeoutSeconds, ctx.deadline, Date.now());
    const result = await deps.engine.infer(input, { signal: ctx.signal, onProgress });
    deps.metrics.requestDone(id, 'success', seconds());
    return result;
  } catch (err) {
    deps.metrics.requestDone(id, ctx.signal.aborted ? 'cancelled' : requestStatusOf(err), seconds());
    throw err;
  }
}

async function validate(deps: GrpcDeps, message: InferenceRequestMessage, traceId: string): Promise<{ id: string; input: InferenceRequest }> {
  checkDecoded(message);
  const id = ModelRef.parse(message.model_id).id;
  const record = deps.registry.view(id);
  const imageModel = record.task_type === 'img2embed' || record.task_type === 'img2txt';
  checkMessageSize(message, MIB * (imageModel ? Math.max(deps.config.grpc_image_max_message_mb, deps.config.grpc_max_message_mb) : deps.config.grpc_max_message_mb));
  const batchField = message.input_data?.data === 'text_batch' ? 'text_batch.texts' : message.input_data?.data === 'image_batch' ? 'image_batch.images' : undefined;
  try {
    const input = await readInferenceRequest(id, bodyOf(message, deps.config.max_json_depth), deps.config, {
      taskType: record.task_type,
      modelConfig: record.config,
      requestId: message.request_id || traceId,
    });
    return { id, input };
  } catch (err) {
    throw batchField ? renameFields(err, batchField) : err;
  }
}

/** The proto message as the shared validator's body: the oneof becomes text or image, a list for batches. */
function bodyOf(message: InferenceRequestMessage, maxDepth: number): InferenceBody {
  const body: InferenceBody = {};
  const input = message.input_data;
  if (input) {
    switch (input.data) {
      case 'text':
        body.input_data = { text: input.text };
        break;
      case 'text_batch':
        body.input_data = { text: input.text_batch?.texts ?? [] };
        break;
      case 'image':
        body.input_data = { image: input.image };
        break;
      case 'image_batch':
        body.input_data = { image: input.image_batch?.images ?? [] };
        break;
      default:
        body.input_data = {};
    }
  }
  const parameters = fromStruct(message.parameters, 'parameters', maxDepth);
  if (parameters !== undefined) body.parameters = parameters;
  const priority = priorityOf(message.priority);
  if (priority !== undefined) body.priority = priority;
  // proto3 cannot tell 0 from unset: 0 means "the default", as for priority.
  if (message.timeout_seconds !== 0) body.timeout_seconds = message.timeout_seconds;
  return body;
}

/** The validator names list items `input_data.text[2]`; in the proto they are `input_data.text_batch.texts[2]`. */
function renameFields(err: unknown, batchField: string): unknown {
  if (!(err instanceof ModelMoraError) || err.fieldErrors === undefined) return err;
  const from = batchField.startsWith('text') ? 'input_data.text' : 'input_data.image';
  const fieldErrors = err.fieldErrors.map((e) => ({ ...e, field: e.field.startsWith(`${from}[`) || e.field === from ? `input_data.${batchField}${e.field.slice(from.length)}` : e.field }));
  return new ModelMoraError(err.code, err.message, { fieldErrors, ...(err.details && { details: err.details }) });
}

/**
 * The engine's timeout: timeout_seconds, or less when the call's deadline comes first. An
 * expired deadline never runs. The engine answers a little before the caller's deadline (a
 * fifth of the time left, at most 250 ms) so the caller receives INFERENCE_TIMEOUT with its
 * error_code instead of a bare client-side DEADLINE_EXCEEDED.
 */
export function boundedTimeout(timeoutSeconds: number, deadline: number, nowMs: number): number {
  if (!Number.isFinite(deadline)) return timeoutSeconds;
  const left = deadline - nowMs;
  const usable = left - Math.min(250, left / 5);
  if (usable <= 0) throw new ModelMoraError('INFERENCE_TIMEOUT', 'The call deadline passed before the request could run');
  return Math.min(timeoutSeconds, usable / 1000);
}
